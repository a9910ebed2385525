//! Issue 14: a dead worker's job is taken over within seconds (its lease runs out), with the
//! shipped timings — not after the redelivery delay — and a live but slow worker keeps its job.

use std::time::{Duration, Instant};

use domain::MessageStatus;
use platform::Settings;
use testkit::providers::{Behavior, FakeProvider, ProviderKind};
use testkit::services::Backend;

use crate::helpers::{completed, deltas, started_attempts, use_fake, Harness};

/// The shipped lease timings (`heartbeat_ms`, `lease_ms`, `reclaim_idle_ms`,
/// `reclaim_interval_ms`) on top of the harness's fast provider settings.
fn shipped_lease_timings(h: &Harness, fake: &FakeProvider) -> Settings {
    let mut settings = h.settings();
    use_fake(&mut settings, fake);
    let shipped = Settings::defaults().unwrap().llm;
    settings.llm.heartbeat_ms = shipped.heartbeat_ms;
    settings.llm.lease_ms = shipped.lease_ms;
    settings.llm.reclaim_idle_ms = shipped.reclaim_idle_ms;
    settings.llm.reclaim_interval_ms = shipped.reclaim_interval_ms;
    settings
}

#[tokio::test]
async fn a_killed_workers_reply_resumes_on_another_within_the_lease() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    let chunks: Vec<String> = (0..200).map(|i| format!("a{i} ")).collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    fake.push(Behavior::reply(&refs).with_delays(Duration::ZERO, Duration::from_millis(50)));
    fake.set_default(Behavior::reply(&["Second", " worker"]));
    let settings = shipped_lease_timings(&h, &fake);
    let lease = Duration::from_millis(settings.llm.lease_ms);
    assert!(Duration::from_millis(settings.llm.reclaim_idle_ms) >= lease * 3);

    let a = h.start_worker(&settings);
    let job = h.send("A long tale, please").await;
    h.wait_events("worker A streaming", Duration::from_secs(10), |e| {
        deltas(e, &job.job_id, 1).len() >= 2
    })
    .await;
    // B is already running (and idle) when A dies, as in a deployment.
    let b = h.start_worker(&settings);
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.kill().await;
    let killed = Instant::now();

    h.wait_events("worker B to take over", Duration::from_secs(20), |e| {
        started_attempts(e, &job.job_id).contains(&2)
    })
    .await;
    let silence = killed.elapsed();
    // The lease, one reclaim round and a little slack; the redelivery delay (15 s) is far off.
    let limit = lease + Duration::from_millis(settings.llm.reclaim_interval_ms) * 2;
    assert!(
        silence <= limit,
        "took {silence:?} to resume (limit {limit:?})"
    );
    let events = h.wait_finished(&job.job_id).await;
    assert_eq!(started_attempts(&events, &job.job_id), [1, 2]);
    assert_eq!(completed(&events, &job.job_id).len(), 1);
    let replies = h.assistant_messages().await;
    assert_eq!(replies.len(), 1, "exactly one stored reply");
    assert_eq!(replies[0].status, MessageStatus::Complete);
    assert_eq!(replies[0].content, "Second worker");
    h.wait_acked().await;
    b.shutdown().await;
    eprintln!("takeover after kill: {silence:?} (lease {lease:?})");
}

#[tokio::test]
async fn a_slow_but_alive_worker_keeps_its_job_past_the_lease() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    let settings = shipped_lease_timings(&h, &fake);
    let lease = Duration::from_millis(settings.llm.lease_ms);
    // The provider thinks for twice the lease before its first token, then streams slowly for
    // as long again: the worker is silent towards Redis' stream but alive.
    let chunks: Vec<String> = (0..20).map(|i| format!("s{i} ")).collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    fake.set_default(Behavior::reply(&refs).with_delays(lease * 2, lease / 10));
    let mut settings = settings;
    settings.llm.first_token_timeout_secs = 30;

    let a = h.start_worker(&settings);
    let b = h.start_worker(&settings);
    let job = h.send("Take your time").await;
    let events = h
        .wait_for("the slow job to finish", Duration::from_secs(30), |e| {
            matches!(e, domain::events::ConversationEvent::Completed { job_id, .. } if *job_id == job.job_id)
        })
        .await;
    assert_eq!(
        started_attempts(&events, &job.job_id),
        [1],
        "no second generation"
    );
    assert_eq!(fake.request_count(), 1, "the provider was asked once");
    assert_eq!(h.assistant_messages().await.len(), 1);
    h.wait_acked().await;
    a.shutdown().await;
    b.shutdown().await;
}
