use std::time::{Duration, Instant};

use bus::{Bus, BusConfig};
use redis::AsyncCommands;
use testkit::RedisServer;

use crate::helpers::{bus, job, raw};

const GROUP: &str = "llm-worker";

#[tokio::test]
async fn enqueue_read_ack() {
    let bus = bus();
    let w = bus.job_consumer(GROUP, "w1").await.unwrap();
    // Creating the group again is fine (BUSYGROUP ignored).
    bus.job_consumer(GROUP, "w2").await.unwrap();
    let id = bus.enqueue_job(&job("j1")).await.unwrap();
    let got = w.read(10, Duration::from_millis(500)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id);
    assert_eq!(got[0].job, job_with_time(&got[0].job, "j1"));
    assert_eq!(got[0].deliveries, 1);
    assert_eq!(w.pending_count().await.unwrap(), 1);
    w.ack(&got[0]).await.unwrap();
    w.ack(&got[0].id).await.unwrap(); // idempotent
    assert_eq!(w.pending_count().await.unwrap(), 0);
    // Nothing new: a blocking read returns empty after its block time, not an error.
    let t = Instant::now();
    assert!(w
        .read(10, Duration::from_millis(700))
        .await
        .unwrap()
        .is_empty());
    assert!(
        t.elapsed() >= Duration::from_millis(600),
        "blocked longer than the 500 ms default"
    );
}

fn job_with_time(got: &domain::jobs::LlmJob, id: &str) -> domain::jobs::LlmJob {
    let mut j = job(id);
    j.enqueued_at = got.enqueued_at;
    j
}

#[tokio::test]
async fn jobs_enqueued_before_any_worker_are_served_and_each_goes_to_one_consumer() {
    let bus = bus();
    for i in 0..6 {
        bus.enqueue_job(&job(&format!("j{i}"))).await.unwrap();
    }
    let a = bus.job_consumer(GROUP, "a").await.unwrap();
    let b = bus.job_consumer(GROUP, "b").await.unwrap();
    let got_a = a.read(3, Duration::ZERO).await.unwrap();
    let got_b = b.read(10, Duration::ZERO).await.unwrap();
    assert_eq!((got_a.len(), got_b.len()), (3, 3));
    let mut ids: Vec<String> = got_a
        .iter()
        .chain(&got_b)
        .map(|d| d.job.job_id.clone())
        .collect();
    ids.sort();
    assert_eq!(ids, ["j0", "j1", "j2", "j3", "j4", "j5"]);
}

#[tokio::test]
async fn a_dead_consumers_job_is_reclaimed_by_another_after_min_idle() {
    let bus = bus();
    let dead = bus.job_consumer(GROUP, "dead").await.unwrap();
    let live = bus.job_consumer(GROUP, "live").await.unwrap();
    bus.enqueue_job(&job("j1")).await.unwrap();
    let taken = dead.read(1, Duration::ZERO).await.unwrap();
    assert_eq!(taken.len(), 1);
    // Not idle long enough yet.
    let r = live
        .reclaim(Duration::from_millis(500), 10, 5)
        .await
        .unwrap();
    assert!(r.claimed.is_empty() && r.dead.is_empty());
    tokio::time::sleep(Duration::from_millis(550)).await;
    let r = live
        .reclaim(Duration::from_millis(500), 10, 5)
        .await
        .unwrap();
    assert_eq!(r.claimed.len(), 1);
    assert!(r.dead.is_empty());
    assert_eq!(r.claimed[0].id, taken[0].id);
    assert_eq!(r.claimed[0].job.job_id, "j1");
    assert_eq!(r.claimed[0].deliveries, 2);
    // The dead consumer lost it: its touch says so and does not steal it back.
    let lease = Duration::from_millis(500);
    assert!(!dead.touch(&taken[0], lease).await.unwrap());
    assert!(live.touch(&taken[0], lease).await.unwrap());
    live.ack(&r.claimed[0]).await.unwrap();
    assert_eq!(live.pending_count().await.unwrap(), 0);
}

#[tokio::test]
async fn touch_keeps_a_long_job_from_being_reclaimed() {
    let bus = bus();
    let worker = bus.job_consumer(GROUP, "worker").await.unwrap();
    let other = bus.job_consumer(GROUP, "other").await.unwrap();
    bus.enqueue_job(&job("long")).await.unwrap();
    let d = worker.read(1, Duration::ZERO).await.unwrap().remove(0);
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(worker.touch(&d, Duration::from_millis(600)).await.unwrap());
        let r = other
            .reclaim(Duration::from_millis(600), 10, 5)
            .await
            .unwrap();
        assert!(r.claimed.is_empty(), "a touched job must not be stolen");
    }
    // Touched for 1.2 s (twice min_idle) and never stolen; left alone, it is reclaimed.
    tokio::time::sleep(Duration::from_millis(650)).await;
    let r = other
        .reclaim(Duration::from_millis(600), 10, 5)
        .await
        .unwrap();
    assert_eq!(r.claimed.len(), 1, "without touches it is reclaimed");
    // Touch does not count as a delivery.
    assert_eq!(r.claimed[0].deliveries, 2);
    // Acknowledged entries are not "owned" any more.
    other.ack(&d).await.unwrap();
    assert!(!other.touch(&d, Duration::from_millis(600)).await.unwrap());
}

#[tokio::test]
async fn a_job_redis_lost_stays_with_the_worker_running_it() {
    let t = RedisServer::shared().fresh();
    let bus = Bus::connect(crate::helpers::config(&t)).unwrap();
    let worker = bus.job_consumer(GROUP, "worker").await.unwrap();
    bus.enqueue_job(&job("running")).await.unwrap();
    let d = worker.read(1, Duration::ZERO).await.unwrap().remove(0);
    // Redis loses the stream (a restart without its data, an older snapshot): nobody else can
    // have the job, so the worker running it keeps it instead of abandoning it.
    // Here: the stream and its group as they were before the job was enqueued.
    let mut r = raw(&t.url).await;
    let stream = format!("{}llm.jobs", t.prefix);
    let _: u64 = r.del(&stream).await.unwrap();
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut r)
        .await
        .unwrap();
    assert!(worker.touch(&d, Duration::from_millis(500)).await.unwrap());
    // An entry acknowledged (still on the stream) is not kept.
    let id = bus.enqueue_job(&job("done")).await.unwrap();
    let done = worker.read(1, Duration::ZERO).await.unwrap().remove(0);
    assert_eq!(done.id, id);
    worker.ack(&done).await.unwrap();
    assert!(!worker
        .touch(&done, Duration::from_millis(500))
        .await
        .unwrap());
}

#[tokio::test]
async fn a_leased_job_is_not_reclaimed_however_idle_until_its_lease_runs_out() {
    let bus = bus();
    let worker = bus.job_consumer(GROUP, "worker").await.unwrap();
    let other = bus.job_consumer(GROUP, "other").await.unwrap();
    bus.enqueue_job(&job("leased")).await.unwrap();
    let d = worker.read(1, Duration::ZERO).await.unwrap().remove(0);
    assert!(worker.touch(&d, Duration::from_millis(900)).await.unwrap());
    // Idle for three times the reclaim's min idle, but the lease is live.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = Duration::from_millis(100);
    let r = other.reclaim(idle, 10, 5).await.unwrap();
    assert!(
        r.claimed.is_empty() && r.dead.is_empty(),
        "a leased job stays"
    );
    // The lease runs out (the worker died): taken at the next reclaim.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = other.reclaim(idle, 10, 5).await.unwrap();
    assert_eq!(r.claimed.len(), 1, "taken once the lease ran out");
    assert!(!worker.touch(&d, Duration::from_millis(900)).await.unwrap());
    // Acknowledging drops the lease with the entry.
    other.ack(&r.claimed[0]).await.unwrap();
    assert_eq!(other.pending_count().await.unwrap(), 0);
}

#[tokio::test]
async fn a_job_delivered_max_times_is_dead_lettered() {
    let bus = bus();
    let a = bus.job_consumer(GROUP, "a").await.unwrap();
    let b = bus.job_consumer(GROUP, "b").await.unwrap();
    let id = bus.enqueue_job(&job("poison")).await.unwrap();
    assert_eq!(a.read(1, Duration::ZERO).await.unwrap().len(), 1); // delivery 1
    let idle = Duration::from_millis(100);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let r = b.reclaim(idle, 10, 2).await.unwrap(); // delivery 2
    assert_eq!(r.claimed.len(), 1);
    assert_eq!(r.claimed[0].deliveries, 2);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let r = a.reclaim(idle, 10, 2).await.unwrap();
    assert!(r.claimed.is_empty());
    assert_eq!(r.dead.len(), 1);
    let dl = &r.dead[0];
    assert_eq!((dl.id.as_str(), dl.deliveries), (id.as_str(), 2));
    assert_eq!(dl.job.as_ref().map(|j| j.job_id.as_str()), Some("poison"));
    assert!(dl.reason.contains("2 times"), "{}", dl.reason);
    // Acknowledged and on the dead-letter stream.
    assert_eq!(a.pending_count().await.unwrap(), 0);
    assert_eq!(bus.stream_len("llm.jobs.dead").await.unwrap(), 1);
    let stored = bus.dead_letters(10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, id);
    assert_eq!(stored[0].deliveries, 2);
    assert_eq!(
        stored[0].job.as_ref().map(|j| j.job_id.as_str()),
        Some("poison")
    );
    // Nothing left to reclaim.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let r = b.reclaim(idle, 10, 2).await.unwrap();
    assert!(r.claimed.is_empty() && r.dead.is_empty());
}

#[tokio::test]
async fn undecodable_entries_are_dead_lettered_not_retried() {
    let t = RedisServer::shared().fresh();
    let bus = Bus::connect(crate::helpers::config(&t)).unwrap();
    let w = bus.job_consumer(GROUP, "w").await.unwrap();
    let mut r = raw(&t.url).await;
    let stream = format!("{}llm.jobs", t.prefix);
    let _: String = r.xadd(&stream, "*", &[("job", "{not json")]).await.unwrap();
    let _: String = r.xadd(&stream, "*", &[("other", "x")]).await.unwrap();
    bus.enqueue_job(&job("good")).await.unwrap();
    let got = w.read(10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].job.job_id, "good");
    let dead = bus.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 2);
    assert!(dead
        .iter()
        .all(|d| d.reason.starts_with("undecodable") && d.job.is_none()));
    assert_eq!(dead[0].payload, "{not json");
    // Only the good one is pending.
    assert_eq!(w.pending_count().await.unwrap(), 1);
}

#[tokio::test]
async fn ops_views_show_length_pending_lag_and_consumers() {
    let bus = bus();
    assert!(bus.consumer_group_info().await.unwrap().is_empty());
    let w = bus.job_consumer(GROUP, "w").await.unwrap();
    for i in 0..3 {
        bus.enqueue_job(&job(&format!("j{i}"))).await.unwrap();
    }
    w.read(1, Duration::ZERO).await.unwrap();
    assert_eq!(bus.stream_len("llm.jobs").await.unwrap(), 3);
    assert_eq!(bus.stream_len("llm.jobs.dead").await.unwrap(), 0);
    let groups = bus.consumer_group_info().await.unwrap();
    assert_eq!(groups.len(), 1);
    let g = &groups[0];
    assert_eq!((g.name.as_str(), g.consumers, g.pending), (GROUP, 1, 1));
    assert_eq!(g.lag, Some(2));
}

#[tokio::test]
async fn consumer_recovers_when_redis_restarts_and_loses_the_group() {
    let server = RedisServer::start();
    let bus = Bus::connect(BusConfig::new(server.url())).unwrap();
    let w = bus.job_consumer(GROUP, "w").await.unwrap();
    bus.enqueue_job(&job("a")).await.unwrap();
    assert_eq!(w.read(1, Duration::ZERO).await.unwrap().len(), 1);
    server.stop();
    let err = w.read(1, Duration::from_millis(100)).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    server.resume();
    // Recreates the dropped group on the empty server.
    let mut got = Vec::new();
    for _ in 0..20 {
        match w.read(1, Duration::from_millis(100)).await {
            Ok(v) if v.is_empty() => {
                bus.enqueue_job(&job("b")).await.unwrap();
            }
            Ok(v) => {
                got = v;
                break;
            }
            Err(e) => {
                assert!(e.is_unavailable(), "{e:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert_eq!(got.first().map(|d| d.job.job_id.as_str()), Some("b"));
    server.stop();
}

#[tokio::test]
async fn enqueue_once_appends_a_job_id_only_once() {
    let bus = bus();
    let first = job("once-1");
    let remember = Duration::from_secs(60);
    assert!(bus.enqueue_job_once(&first, remember).await.unwrap());
    assert!(!bus.enqueue_job_once(&first, remember).await.unwrap());
    assert!(bus
        .enqueue_job_once(&job("once-2"), remember)
        .await
        .unwrap());
    assert_eq!(bus.stream_len("llm.jobs").await.unwrap(), 2);
}
