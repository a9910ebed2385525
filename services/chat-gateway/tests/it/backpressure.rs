//! A client that stops reading is closed with a resume code and never delays the others.

use std::time::{Duration, Instant};

use testkit::services::Backend;

use crate::helpers::{eventually, Client, Cluster};

#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_others_keep_receiving_promptly() {
    let c = Cluster::start_with(Backend::Sqlite, |_, g| g.queue_capacity = 16).await;
    let (alice, token) = c.user("alice").await;
    let (bob, bob_token) = c.user("bob").await;
    let conv = c.group(&[alice, bob]).await;

    // The stalled client: subscribes, then never reads again.
    let mut stalled = Client::open_small_buffer(&c.a.url(&format!("/ws?token={token}"))).await;
    stalled.expect("ready").await;
    stalled.subscribe(conv).await;
    let (mut healthy, _) = Client::connect(&c.a, &bob_token).await;
    healthy.subscribe(conv).await;
    assert_eq!(c.a.connections(), 2);

    // ~8 MB of events: far beyond the stalled client's kernel buffers and queue.
    let chunk = "x".repeat(32 * 1024);
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    for i in 0..250u64 {
        let sent = Instant::now();
        let offset = c.publish_delta(conv, "j", &chunk).await;
        let (got, _) = healthy.event().await;
        assert_eq!(got, offset, "event {i}");
        worst = worst.max(sent.elapsed());
    }
    assert!(
        worst < Duration::from_secs(1),
        "the healthy client waited {worst:?} for one event"
    );
    eventually("the stalled socket is dropped from the hub", || {
        c.a.connections() == 1
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(30));

    // When the stalled client reads again it finds the close frame telling it to resume.
    let (code, reason) = stalled.expect_close().await;
    assert_eq!(code, 1013);
    assert_eq!(reason, "slow consumer, resume");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_by_age_before_its_queue_fills() {
    let max_age = Duration::from_secs(1);
    let c = Cluster::start_with(Backend::Sqlite, |_, g| {
        g.queue_capacity = 256;
        g.max_queue_age = max_age;
    })
    .await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let mut stalled = Client::open_small_buffer(&c.a.url(&format!("/ws?token={token}"))).await;
    stalled.expect("ready").await;
    stalled.subscribe(conv).await;

    // A trickle: 8 KB every 50 ms. The kernel buffers (small on both ends) fill within a few
    // dozen events; from then on frames wait in the queue, ~20 a second, far from 256.
    let chunk = "y".repeat(8 * 1024);
    let started = Instant::now();
    let mut published = 0usize;
    while c.a.connections() == 1 {
        c.publish_delta(conv, "j", &chunk).await;
        published += 1;
        assert!(
            published < 200,
            "still open after {published} events ({:?})",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closed_after = started.elapsed();
    // Filling the kernel buffers (well under a second at this rate), the age limit, one push.
    assert!(
        closed_after < max_age + Duration::from_secs(3),
        "closed after {closed_after:?}"
    );
    assert!(published < 256, "closed by age, not by count");
    let (code, reason) = stalled.expect_close().await;
    assert_eq!(code, 1013);
    assert_eq!(reason, "slow consumer, resume");
    eprintln!("stalled socket closed by age after {closed_after:?}, {published} events");
}
