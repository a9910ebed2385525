use db::characters::{self, NewCharacterRow};
use db::stories::{self, NewStoryRow, StoryResult};
use db::DbError;
use domain::{StoryId, StoryStatus};

use crate::support::{delete_user, user};

both_backends!(story_life_cycle, |c| {
    let alice = user(c, "alice")?;
    let ch = characters::insert(c, NewCharacterRow::new(alice.id, "Sera"))?;
    let new = |title: &str| NewStoryRow {
        user_id: alice.id,
        title: title.into(),
        prompt: "once upon a time".into(),
        character_ids: vec![ch.id],
    };
    let s = stories::insert(c, new("First"))?;
    assert_eq!(s.status, StoryStatus::Pending);
    assert_eq!(s.content, "");
    assert_eq!(s.character_ids, [ch.id]);
    assert_eq!(stories::find(c, s.id)?, s);

    let queued = stories::set_job(c, s.id, "job-s1", "mock/echo")?;
    assert_eq!(queued.status, StoryStatus::Pending, "queued, not started");
    assert_eq!(queued.job_id.as_deref(), Some("job-s1"));
    assert!(!stories::mark_streaming(c, s.id, "another-job")?);
    assert_eq!(stories::find(c, s.id)?.status, StoryStatus::Pending);
    assert!(stories::mark_streaming(c, s.id, "job-s1")?);
    assert_eq!(stories::find(c, s.id)?.status, StoryStatus::Streaming);
    assert_eq!(
        stories::find_by_job_id(c, "job-s1")?.map(|r| r.id),
        Some(s.id)
    );

    let result = StoryResult {
        content: "The end.".into(),
        status: StoryStatus::Complete,
        prompt_tokens: Some(10),
        completion_tokens: Some(200),
    };
    let done = stories::complete(c, s.id, &result)?;
    assert_eq!(done.content, "The end.");
    assert_eq!(done.status, StoryStatus::Complete);
    assert!(
        !stories::mark_streaming(c, s.id, "job-s1")?,
        "a redelivered job does not reopen a finished story"
    );
    assert_eq!(stories::find(c, s.id)?.status, StoryStatus::Complete);
    assert_eq!(done.completion_tokens, Some(200));
    assert_eq!(stories::complete(c, s.id, &result)?.content, "The end.");

    let second = stories::insert(c, new("Second"))?;
    let err = stories::set_job(c, second.id, "job-s1", "m").unwrap_err();
    assert!(err.is_conflict_on("job_id"), "{err:?}");
    let listed: Vec<StoryId> = stories::list_for_user(c, alice.id, 10, 0)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, [second.id, s.id], "newest first");
    assert_eq!(stories::list_for_user(c, alice.id, 1, 1)?.len(), 1);

    stories::delete(c, second.id)?;
    assert!(matches!(
        stories::find(c, second.id),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        stories::delete(c, second.id),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        stories::complete(c, second.id, &result),
        Err(DbError::NotFound)
    ));
    delete_user(c, alice.id)?;
    assert!(matches!(stories::find(c, s.id), Err(DbError::NotFound)));
});
