//! Workers dying, stopping and competing: a killed worker's job is finished by another, a
//! graceful stop never acknowledges an unfinished job, and live long jobs are not stolen.

use std::time::Duration;

use domain::MessageStatus;
use testkit::providers::{Behavior, FakeProvider, ProviderKind};
use testkit::services::Backend;

use crate::helpers::{completed, deltas, started_attempts, use_fake, Harness};

fn slow(n: usize, gap_ms: u64) -> Behavior {
    let chunks: Vec<String> = (0..n).map(|i| format!("s{i} ")).collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    Behavior::reply(&refs).with_delays(Duration::ZERO, Duration::from_millis(gap_ms))
}

#[tokio::test]
async fn a_worker_killed_mid_stream_is_replaced_and_one_reply_completes() {
    let h = Harness::new(Backend::Postgres).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.push(slow(60, 50)); // worker A's call: 3 s, it dies before the end
    fake.set_default(Behavior::reply(&["Fresh", " answer"])); // worker B's call
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    settings.llm.reclaim_idle_ms = 500;

    let a = h.start_worker(&settings);
    let job = h.send("Tell me a long tale").await;
    h.wait_events("worker A streaming", Duration::from_secs(10), |events| {
        deltas(events, &job.job_id, 1).len() >= 2
    })
    .await;
    a.kill().await;
    assert_eq!(h.pending().await, 1, "the dead worker's job stays pending");

    let b = h.start_worker(&settings);
    let events = h.wait_finished(&job.job_id).await;
    assert_eq!(started_attempts(&events, &job.job_id), [1, 2]);
    assert_eq!(deltas(&events, &job.job_id, 2).concat(), "Fresh answer");
    let done = completed(&events, &job.job_id);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0.content, "Fresh answer");
    let replies = h.assistant_messages().await;
    assert_eq!(replies.len(), 1, "exactly one reply");
    assert_eq!(replies[0].status, MessageStatus::Complete);
    assert_eq!(h.usage().await[0].messages, 1);
    h.wait_acked().await;
    b.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_short_jobs_and_never_acks_unfinished_ones() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    settings.http.shutdown_timeout_secs = 1;

    // A job that ends within the drain time is finished and acknowledged.
    fake.push(slow(5, 100));
    let w = h.start_worker(&settings);
    let short = h.send("short one").await;
    h.wait_events("streaming", Duration::from_secs(10), |e| {
        !deltas(e, &short.job_id, 1).is_empty()
    })
    .await;
    w.shutdown().await;
    assert_eq!(
        h.reply(&short.job_id).await.unwrap().status,
        MessageStatus::Complete
    );
    assert_eq!(h.pending().await, 0);

    // A job that outlives the drain time is left unacknowledged, its reply unfinished.
    fake.push(slow(100, 50));
    let w = h.start_worker(&settings);
    let long = h.send("long one").await;
    h.wait_events("streaming", Duration::from_secs(10), |e| {
        !deltas(e, &long.job_id, 1).is_empty()
    })
    .await;
    let stopping = std::time::Instant::now();
    w.shutdown().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "{:?}",
        stopping.elapsed()
    );
    assert_eq!(h.pending().await, 1, "never ack an unfinished job");
    assert_eq!(
        h.reply(&long.job_id).await.unwrap().status,
        MessageStatus::Streaming
    );

    // The next worker picks it up.
    settings.llm.reclaim_idle_ms = 300;
    let w = h.start_worker(&settings);
    let events = h.wait_finished(&long.job_id).await;
    assert_eq!(started_attempts(&events, &long.job_id), [1, 2]);
    assert_eq!(
        h.reply(&long.job_id).await.unwrap().status,
        MessageStatus::Complete
    );
    h.wait_acked().await;
    w.shutdown().await;
}

#[tokio::test]
async fn a_long_job_is_touched_so_no_other_worker_steals_it() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.set_default(slow(30, 50)); // 1.5 s, three times the reclaim idle time
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    settings.llm.reclaim_idle_ms = 450;
    settings.llm.reclaim_interval_ms = 50;
    let a = h.start_worker(&settings);
    let b = h.start_worker(&settings);
    let job = h.send("A long one").await;
    let events = h.wait_finished(&job.job_id).await;
    assert_eq!(started_attempts(&events, &job.job_id), [1]);
    assert_eq!(fake.request_count(), 1);
    assert_eq!(
        completed(&events, &job.job_id)[0].0.status,
        MessageStatus::Complete
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_worker_that_lost_its_job_abandons_it() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.set_default(slow(60, 50));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    settings.llm.reclaim_idle_ms = 300; // touches every 100 ms
    let a = h.start_worker(&settings);
    let job = h.send("Go on").await;
    h.wait_events("streaming", Duration::from_secs(10), |e| {
        !deltas(e, &job.job_id, 1).is_empty()
    })
    .await;
    // Another consumer takes the entry over, as a reclaim would after a Redis outage longer
    // than the lease (A could not renew it); A's live lease keeps `reclaim` itself from doing so.
    let thief = h
        .bus
        .job_consumer(llm_worker::config::GROUP, "thief")
        .await
        .unwrap();
    let lease = Duration::from_millis(300);
    let blocked = thief.reclaim(Duration::ZERO, 10, 10).await.unwrap();
    assert!(blocked.claimed.is_empty(), "a leased job is not reclaimed");
    let entry = steal(&h, "thief").await;
    // The thief is alive: it keeps its entry touched, so A's reclaim loop leaves it alone.
    let alive = tokio::spawn(async move {
        loop {
            assert!(thief.touch(&entry, lease).await.unwrap());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = h.events().await.len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.events().await.len(),
        settled,
        "worker A stopped streaming"
    );
    assert_eq!(
        h.reply(&job.job_id).await.unwrap().status,
        MessageStatus::Streaming
    );
    assert_eq!(h.pending().await, 1, "A did not ack the thief's entry");
    alive.abort();
    a.shutdown().await;
}

/// Moves the one pending job entry to `consumer` with a raw `XCLAIM`, ignoring its lease.
async fn steal(h: &Harness, consumer: &str) -> String {
    let client = redis::Client::open(h.env.redis.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stream = format!("{}llm.jobs", h.env.redis.prefix);
    let group = llm_worker::config::GROUP;
    let pending: redis::streams::StreamPendingCountReply = redis::cmd("XPENDING")
        .arg(&stream)
        .arg(group)
        .arg("-")
        .arg("+")
        .arg(10)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(pending.ids.len(), 1);
    let entry = pending.ids[0].id.clone();
    let _: redis::Value = redis::cmd("XCLAIM")
        .arg(&stream)
        .arg(group)
        .arg(consumer)
        .arg(0)
        .arg(&entry)
        .arg("JUSTID")
        .query_async(&mut conn)
        .await
        .unwrap();
    entry
}
