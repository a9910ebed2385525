#![allow(dead_code)]

use std::time::Duration;

use bus::{Bus, BusConfig, SubscriberEvent, SubscriberEvents};
use domain::events::{ConversationEvent, EventPayload};
use domain::jobs::{JobKind, LlmJob, JOB_VERSION};
use domain::UserId;
use testkit::{RedisServer, TestRedis};

pub fn config(t: &TestRedis) -> BusConfig {
    BusConfig::new(&t.url).with_prefix(&t.prefix)
}

/// A bus on the shared server with a fresh prefix.
pub fn bus() -> Bus {
    bus_with(|_| {})
}

pub fn bus_with(f: impl FnOnce(&mut BusConfig)) -> Bus {
    let mut cfg = config(&RedisServer::shared().fresh());
    f(&mut cfg);
    Bus::connect(cfg).unwrap()
}

/// A raw connection for poking at keys behind the bus's back.
pub async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

pub fn delta(text: impl Into<String>) -> EventPayload {
    EventPayload::from(ConversationEvent::Delta {
        job_id: "job".into(),
        attempt: 1,
        text: text.into(),
    })
}

pub fn job(id: &str) -> LlmJob {
    LlmJob {
        v: JOB_VERSION,
        job_id: id.into(),
        kind: JobKind::Reply,
        user_id: UserId(1),
        conversation_id: Some(domain::ConversationId(2)),
        trigger_message_id: Some(domain::MessageId(3)),
        story_id: None,
        model: Some("mock/echo".into()),
        enqueued_at: chrono::Utc::now(),
        character_id: None,
    }
}

/// The next event, failing the test after `secs` seconds.
pub async fn next(events: &mut SubscriberEvents, secs: u64) -> SubscriberEvent {
    tokio::time::timeout(Duration::from_secs(secs), events.recv())
        .await
        .expect("timed out waiting for a subscriber event")
        .expect("subscriber ended")
}

/// Asserts nothing arrives for `ms` milliseconds.
pub async fn nothing_for(events: &mut SubscriberEvents, ms: u64) {
    if let Ok(ev) = tokio::time::timeout(Duration::from_millis(ms), events.recv()).await {
        panic!("unexpected event {ev:?}");
    }
}
