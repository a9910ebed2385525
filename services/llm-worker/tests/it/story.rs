//! Story jobs: the story row is completed with its text and tokens, progress on the user channel.

use std::time::{Duration, Instant};

use bus::SubscriberEvent;
use chrono::Utc;
use db::stories::NewStoryRow;
use domain::events::UserEvent;
use domain::jobs::{JobKind, LlmJob, JOB_VERSION};
use domain::StoryStatus;
use testkit::providers::{Behavior, FakeProvider, ProviderKind};
use testkit::services::Backend;

use crate::helpers::{use_fake, Harness};

#[tokio::test]
async fn a_story_job_completes_the_story_row() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.set_default(Behavior::reply(&["Once ", "upon ", "a time."]).with_usage(50, 3, 0));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);

    let mut subscriber = h.bus.subscriber().await.unwrap();
    subscriber.subscribe_user(h.user).await.unwrap();

    let (user, ada) = (h.user, h.character.id);
    let story = db::run(&h.db, move |c| {
        let story = db::stories::insert(
            c,
            NewStoryRow {
                user_id: user,
                title: "The Gear".into(),
                prompt: "A tale about a lost gear.".into(),
                character_ids: vec![ada],
            },
        )?;
        db::stories::set_job(c, story.id, "story-1", "openai/gpt-4o-mini")
    })
    .await
    .unwrap();
    let job = LlmJob {
        v: JOB_VERSION,
        job_id: "story-1".into(),
        kind: JobKind::Story,
        user_id: h.user,
        conversation_id: None,
        trigger_message_id: None,
        story_id: Some(story.id),
        model: None,
        enqueued_at: Utc::now(),
        character_id: None,
    };
    let worker = h.start_worker(&settings);
    h.bus.enqueue_job(&job).await.unwrap();

    assert_eq!(
        story.status,
        StoryStatus::Pending,
        "queued until a worker starts it"
    );
    let mut events = Vec::new();
    let mut status_when_started = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !events
        .iter()
        .any(|e| matches!(e, UserEvent::StoryCompleted { .. }))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, subscriber.recv()).await {
            Ok(Some(SubscriberEvent::User { payload, .. })) => {
                let event = serde_json::from_str::<UserEvent>(&payload).unwrap();
                if matches!(event, UserEvent::StoryStarted { .. }) {
                    let id = story.id;
                    let row = db::run(&h.db, move |c| db::stories::find(c, id)).await;
                    status_when_started = Some(row.unwrap().status);
                }
                events.push(event);
            }
            Ok(Some(_)) => {}
            other => panic!("no story.completed: {other:?} after {events:?}"),
        }
    }
    assert!(
        matches!(events[0], UserEvent::StoryStarted { attempt: 1, .. }),
        "{events:?}"
    );
    assert_eq!(status_when_started, Some(StoryStatus::Streaming));
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            UserEvent::StoryDelta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "Once upon a time.");

    let id = story.id;
    let stored = db::run(&h.db, move |c| db::stories::find(c, id))
        .await
        .unwrap();
    assert_eq!(stored.status, StoryStatus::Complete);
    assert_eq!(stored.content, "Once upon a time.");
    assert_eq!(
        (stored.prompt_tokens, stored.completion_tokens),
        (Some(50), Some(3))
    );
    let usage = h.usage().await;
    assert_eq!(
        (
            usage[0].prompt_tokens,
            usage[0].completion_tokens,
            usage[0].messages
        ),
        (50, 3, 1)
    );

    let sent = &fake.requests()[0]["body"]["messages"];
    let system = sent[0]["content"].as_str().unwrap();
    assert!(
        system.contains("Characters:\n- Ada: Ada is a cheerful inventor"),
        "{system}"
    );
    assert_eq!(
        sent[1]["content"],
        "Title: The Gear\n\nA tale about a lost gear."
    );

    // Delivered again: nothing is redone, and the end is announced again (the delivery that
    // stored it might have died before publishing).
    h.bus.enqueue_job(&job).await.unwrap();
    let again = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(SubscriberEvent::User { payload, .. }) = subscriber.recv().await {
                if let Ok(e @ UserEvent::StoryCompleted { .. }) = serde_json::from_str(&payload) {
                    return e;
                }
            }
        }
    })
    .await
    .expect("story.completed announced again");
    assert!(
        matches!(again, UserEvent::StoryCompleted { story_id, usage, .. }
            if story_id == story.id && (usage.prompt_tokens, usage.completion_tokens) == (50, 3)),
        "{again:?}"
    );
    h.wait_acked().await;
    assert_eq!(fake.request_count(), 1);
    assert_eq!(h.usage().await[0].messages, 1);
    worker.shutdown().await;
}
