use chrono::{Duration, Utc};
use db::outbox;
use domain::jobs::{JobKind, LlmJob, JOB_VERSION};
use domain::{MessageStatus, UserId};

fn job(id: &str) -> LlmJob {
    LlmJob {
        v: JOB_VERSION,
        job_id: id.into(),
        kind: JobKind::Story,
        user_id: UserId(1),
        conversation_id: None,
        trigger_message_id: None,
        story_id: None,
        model: None,
        enqueued_at: Utc::now(),
        character_id: None,
    }
}

both_backends!(outbox_rows_are_stored_once_relayed_and_cleared, |c| {
    assert!(outbox::insert(c, &job("story-1"))?);
    assert!(
        !outbox::insert(c, &job("story-1"))?,
        "a retried send stores nothing"
    );
    assert!(outbox::insert(c, &job("story-2"))?);
    assert!(outbox::contains(c, "story-1")?);

    let later = db::now() + Duration::seconds(1);
    assert!(outbox::due(c, db::now() - Duration::seconds(60), 10)?.is_empty());
    let due = outbox::due(c, later, 10)?;
    assert_eq!(
        due.iter().map(|r| r.job_id.as_str()).collect::<Vec<_>>(),
        ["story-1", "story-2"]
    );
    let decoded: LlmJob = serde_json::from_str(&due[0].payload).unwrap();
    assert_eq!(decoded.job_id, "story-1");

    // A row relayed after the cut-off waits before it is looked at again. The pauses keep the
    // timestamps apart at microsecond resolution.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let cut = db::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    outbox::mark_relayed(c, due[0].id)?;
    let due = outbox::due(c, cut, 10)?;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].job_id, "story-2");
    let relayed = outbox::due(c, later, 10)?;
    assert_eq!(relayed[0].relays, 1);

    outbox::remove(c, "story-2")?;
    outbox::remove(c, "story-2")?;
    assert!(!outbox::contains(c, "story-2")?);
    assert_eq!(outbox::remove_older_than(c, later)?, 1);
    assert!(outbox::due(c, later, 10)?.is_empty());
});

both_backends!(only_a_streaming_reply_is_failed_by_the_sweeper, |c| {
    use crate::support::user;
    use db::conversations::NewConversationRow;
    use db::messages::{self, AssistantReply, NewMessageRow};
    use domain::{ConversationKind, MemberRole};

    let alice = user(c, "alice")?;
    let conv = db::conversations::insert_with_members(
        c,
        NewConversationRow::new(ConversationKind::Group, Some(alice.id)),
        &[(alice.id, MemberRole::Owner)],
    )?;
    let trigger = messages::insert(c, NewMessageRow::user(conv.id, alice.id, "hi"))?;
    let reply = |status| AssistantReply {
        conversation_id: conv.id,
        character_id: None,
        job_id: "reply-x".into(),
        reply_to_id: Some(trigger.id),
        content: "par".into(),
        status,
        model: None,
        prompt_tokens: None,
        completion_tokens: None,
    };
    let streaming = messages::upsert_assistant_reply(c, reply(MessageStatus::Streaming))?;
    let later = db::now() + Duration::seconds(1);
    let stuck = outbox::streaming_replies_before(c, later, 10)?;
    assert_eq!(
        stuck.iter().map(|m| m.id).collect::<Vec<_>>(),
        [streaming.id]
    );
    assert!(outbox::streaming_replies_before(c, db::now() - Duration::seconds(60), 10)?.is_empty());

    let failed = outbox::fail_if_streaming(c, streaming.id)?.unwrap();
    assert_eq!(failed.status, MessageStatus::Failed);
    assert_eq!(failed.content, "par");
    assert!(
        outbox::fail_if_streaming(c, streaming.id)?.is_none(),
        "only once"
    );
    assert!(outbox::streaming_replies_before(c, later, 10)?.is_empty());
});
