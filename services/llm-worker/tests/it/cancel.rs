//! Stop requests end the provider stream at once and keep the partial reply as cancelled.

use std::time::{Duration, Instant};

use domain::events::ConversationEvent;
use domain::MessageStatus;
use testkit::providers::{Behavior, FakeProvider, ProviderKind};
use testkit::services::Backend;

use crate::helpers::{completed, deltas, use_fake, Harness};

fn slow_reply() -> Behavior {
    let chunks: Vec<String> = (0..100).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    Behavior::reply(&refs).with_delays(Duration::ZERO, Duration::from_millis(50))
}

#[tokio::test]
async fn a_stop_ends_the_stream_within_100_ms_and_keeps_the_partial_reply() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.set_default(slow_reply());
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let worker = h.start_worker(&settings);
    let job = h.send("Talk slowly").await;
    h.wait_events("a few deltas", Duration::from_secs(10), |events| {
        deltas(events, &job.job_id, 1).len() >= 3
    })
    .await;
    // The stop endpoint finds the job through the streaming placeholder.
    let placeholder = h.reply(&job.job_id).await.unwrap();
    assert_eq!(placeholder.status, MessageStatus::Streaming);

    let asked = Instant::now();
    h.bus.request_cancel(&job.job_id).await.unwrap();
    let events = h.wait_finished(&job.job_id).await;
    let took = asked.elapsed();
    assert!(took < Duration::from_millis(100), "stopped after {took:?}");

    let done = completed(&events, &job.job_id);
    assert_eq!(done.len(), 1);
    let (message, usage) = done[0];
    assert_eq!(message.status, MessageStatus::Cancelled);
    let streamed = deltas(&events, &job.job_id, 1).concat();
    assert_eq!(
        message.content, streamed,
        "the stored text is what clients saw"
    );
    assert!(message.content.starts_with("w0 w1 w2 "));
    assert!(message.content.len() < 100 * 3, "partial");
    assert!(
        usage.completion_tokens > 0,
        "the partial reply is charged by estimate"
    );
    let stored = h.reply(&job.job_id).await.unwrap();
    assert_eq!(stored.status, MessageStatus::Cancelled);
    assert_eq!(stored.content, message.content);
    h.wait_acked().await;

    // Nothing more streams after the stop.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.events().await.len(), events.len());
    assert_eq!(h.usage().await[0].messages, 1);
    worker.shutdown().await;
}

#[tokio::test]
async fn a_stop_before_the_job_starts_stores_an_empty_cancelled_reply() {
    let h = Harness::new(Backend::Postgres).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let message = h.user_message("Never mind").await;
    let job = h.reply_job(message.id);
    h.bus.request_cancel(&job.job_id).await.unwrap();
    h.bus.enqueue_job(&job).await.unwrap();
    let worker = h.start_worker(&settings);
    let events = h.wait_finished(&job.job_id).await;
    let done = completed(&events, &job.job_id);
    assert_eq!(done[0].0.status, MessageStatus::Cancelled);
    assert_eq!(done[0].0.content, "");
    assert!(!events
        .iter()
        .any(|e| matches!(e, ConversationEvent::Delta { .. })));
    assert!(
        h.usage().await.is_empty(),
        "nothing generated, nothing charged"
    );
    h.wait_acked().await;
    worker.shutdown().await;
}
