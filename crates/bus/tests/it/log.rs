use std::collections::HashSet;

use bus::SubscriberEvent;
use domain::events::ConversationEvent;
use domain::ConversationId;
use redis::AsyncCommands;
use testkit::RedisServer;

use crate::helpers::{bus, bus_with, config, delta, next, raw};

#[tokio::test]
async fn offsets_are_consecutive_per_conversation_and_independent_across_conversations() {
    let bus = bus();
    let (a, b) = (ConversationId(1), ConversationId(2));
    let mut epoch_a = None;
    for i in 1..=5u64 {
        let e = bus.publish(a, &delta(format!("a{i}"))).await.unwrap();
        assert_eq!(e.offset, i);
        assert_eq!(e.conversation_id, a);
        epoch_a.get_or_insert(e.epoch.clone());
        assert_eq!(Some(&e.epoch), epoch_a.as_ref(), "epoch is stable");
    }
    for i in 1..=3u64 {
        assert_eq!(bus.publish(b, &delta("b")).await.unwrap().offset, i);
    }
    assert_eq!(bus.publish(a, &delta("a6")).await.unwrap().offset, 6);
    let (epoch, latest) = bus.log_position(a).await.unwrap();
    assert_eq!((Some(epoch), latest), (epoch_a, 6));
    assert_eq!(bus.log_position(b).await.unwrap().1, 3);
}

#[tokio::test]
async fn entry_payload_is_the_event_json_and_decodes() {
    let bus = bus();
    let entry = bus.publish(ConversationId(9), &delta("Hel")).await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&entry.payload).unwrap();
    assert_eq!(json["v"], 1);
    assert_eq!(json["type"], "delta");
    match entry.decode().unwrap().event {
        ConversationEvent::Delta { text, .. } => assert_eq!(text, "Hel"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_get_gapless_offsets_and_subscriber_sees_them_in_order() {
    let bus = bus();
    let conv = ConversationId(77);
    let (handle, mut events) = bus.subscriber().await.unwrap().into_parts();
    handle.subscribe(conv).await.unwrap();

    let mut tasks = Vec::new();
    for t in 0..8 {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            let mut offsets = Vec::new();
            for i in 0..200 {
                let e = bus.publish(conv, &delta(format!("{t}-{i}"))).await.unwrap();
                offsets.push(e.offset);
            }
            offsets
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let offsets = t.await.unwrap();
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "per task increasing"
        );
        all.extend(offsets);
    }
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=1600).collect::<Vec<u64>>(),
        "no gap, no duplicate"
    );

    for expected in 1..=1600u64 {
        match next(&mut events, 10).await {
            SubscriberEvent::Entry(e) => {
                assert_eq!(e.conversation_id, conv);
                assert_eq!(e.offset, expected, "delivered in offset order");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn read_since_returns_exactly_the_missed_events_in_order() {
    let bus = bus();
    let conv = ConversationId(5);
    let mut epoch = String::new();
    for i in 1..=10 {
        epoch = bus
            .publish(conv, &delta(format!("m{i}")))
            .await
            .unwrap()
            .epoch;
    }
    let r = bus.read_since(conv, Some(&epoch), 6, 100).await.unwrap();
    assert!(r.recovered && r.is_complete());
    assert_eq!(r.epoch, epoch);
    assert_eq!(r.latest_offset, 10);
    assert_eq!(
        r.entries.iter().map(|e| e.offset).collect::<Vec<_>>(),
        vec![7, 8, 9, 10]
    );
    let texts: Vec<String> = r
        .entries
        .iter()
        .map(|e| match e.decode().unwrap().event {
            ConversationEvent::Delta { text, .. } => text,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(texts, ["m7", "m8", "m9", "m10"]);

    // Up to date: nothing missed.
    let r = bus.read_since(conv, Some(&epoch), 10, 100).await.unwrap();
    assert!(r.recovered && r.entries.is_empty());

    // From the start, paged by `max`.
    let r = bus.read_since(conv, None, 0, 4).await.unwrap();
    assert!(r.recovered && !r.is_complete());
    assert_eq!(
        r.entries.iter().map(|e| e.offset).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let r = bus.read_since(conv, Some(&epoch), 4, 4).await.unwrap();
    assert_eq!(r.entries.first().map(|e| e.offset), Some(5));

    // A client claiming an offset the log never reached cannot be trusted.
    let r = bus.read_since(conv, Some(&epoch), 11, 100).await.unwrap();
    assert!(!r.recovered);
}

#[tokio::test]
async fn read_since_is_not_recovered_once_the_gap_left_the_trimmed_log() {
    let bus = bus_with(|c| c.log_max_len = 5);
    let conv = ConversationId(6);
    let mut epoch = String::new();
    // Approximate trimming drops whole stream nodes (100 entries each by default).
    for i in 0..350 {
        epoch = bus
            .publish(conv, &delta(format!("{i}")))
            .await
            .unwrap()
            .epoch;
    }
    let r = bus.read_since(conv, Some(&epoch), 1, 1000).await.unwrap();
    assert!(!r.recovered, "offset 2 was trimmed away");
    assert!(r.entries.is_empty());
    assert_eq!(r.latest_offset, 350);
    // The recent tail is still replayable.
    let r = bus.read_since(conv, Some(&epoch), 345, 1000).await.unwrap();
    assert!(r.recovered);
    assert_eq!(
        r.entries.iter().map(|e| e.offset).collect::<Vec<_>>(),
        [346, 347, 348, 349, 350]
    );
}

#[tokio::test]
async fn a_lost_log_gets_a_new_epoch_and_old_positions_are_not_recovered() {
    let t = RedisServer::shared().fresh();
    let bus = bus::Bus::connect(config(&t)).unwrap();
    let conv = ConversationId(8);
    let old = bus.publish(conv, &delta("x")).await.unwrap();
    bus.publish(conv, &delta("y")).await.unwrap();

    // The whole log disappears (expiry, eviction)…
    let mut r = raw(&t.url).await;
    let keys: Vec<String> = r.keys(format!("{}*", t.prefix)).await.unwrap();
    assert_eq!(keys.len(), 3, "log, seq and epoch: {keys:?}");
    let _: () = r.del(keys).await.unwrap();

    let fresh = bus.publish(conv, &delta("z")).await.unwrap();
    assert_ne!(fresh.epoch, old.epoch);
    assert_eq!(fresh.offset, 1, "offsets restart in the new epoch");
    let rec = bus
        .read_since(conv, Some(&old.epoch), 2, 100)
        .await
        .unwrap();
    assert!(!rec.recovered);
    assert_eq!(rec.epoch, fresh.epoch);

    // …or only its counter does: also a new epoch, never an offset reused in the old one.
    let _: () = r.del(format!("{}{{conv:8}}:seq", t.prefix)).await.unwrap();
    let again = bus.publish(conv, &delta("w")).await.unwrap();
    assert_ne!(again.epoch, fresh.epoch);
    assert_eq!(again.offset, 1);
}

#[tokio::test]
async fn epoch_changes_when_redis_loses_everything() {
    let server = RedisServer::start();
    let bus = bus::Bus::connect(bus::BusConfig::new(server.url())).unwrap();
    let conv = ConversationId(3);
    let before = bus.publish(conv, &delta("a")).await.unwrap();
    let mut r = raw(&server.url()).await;
    let _: () = redis::cmd("FLUSHALL").query_async(&mut r).await.unwrap();
    let rec = bus
        .read_since(conv, Some(&before.epoch), 1, 10)
        .await
        .unwrap();
    assert!(!rec.recovered);
    assert_ne!(rec.epoch, before.epoch);
    assert_eq!(rec.latest_offset, 0);
    // The epoch a reader was told is the one the next event gets.
    let after = bus.publish(conv, &delta("b")).await.unwrap();
    assert_eq!((after.epoch, after.offset), (rec.epoch, 1));
    server.stop();
}

#[tokio::test]
async fn log_position_of_a_new_conversation_stays_valid_once_events_arrive() {
    let bus = bus();
    let conv = ConversationId(11);
    let (epoch, latest) = bus.log_position(conv).await.unwrap();
    assert_eq!(latest, 0);
    bus.publish(conv, &delta("first")).await.unwrap();
    let r = bus.read_since(conv, Some(&epoch), 0, 10).await.unwrap();
    assert!(r.recovered);
    assert_eq!(r.entries.len(), 1);
    let offsets: HashSet<u64> = r.entries.iter().map(|e| e.offset).collect();
    assert!(offsets.contains(&1));
}

/// Issue 14's drill: Redis crashes and comes back from an older snapshot, so both the epoch and
/// the counter exist again, only older. The epoch must change anyway: otherwise new events
/// reuse offsets a client already saw under the same epoch and its resume silently skips them.
#[tokio::test]
async fn restoring_an_older_snapshot_changes_the_epoch_and_never_reuses_a_position() {
    let server = RedisServer::start();
    let bus = bus::Bus::connect(bus::BusConfig::new(server.url())).unwrap();
    let conv = ConversationId(14);
    let mut seen = HashSet::new();
    for i in 0..5 {
        let e = bus.publish(conv, &delta(format!("old{i}"))).await.unwrap();
        seen.insert((e.epoch, e.offset));
    }
    let mut r = raw(&server.url()).await;
    let _: () = redis::cmd("SAVE").query_async(&mut r).await.unwrap();
    let snapshot = server.dir().join("snapshot.rdb");
    std::fs::copy(server.dir().join("dump.rdb"), &snapshot).unwrap();
    let mut newest = None;
    for i in 0..5 {
        let e = bus.publish(conv, &delta(format!("lost{i}"))).await.unwrap();
        seen.insert((e.epoch.clone(), e.offset));
        newest = Some(e);
    }
    let newest = newest.unwrap();
    assert_eq!(newest.offset, 10);

    // kill -9, then start again over the older snapshot on the same port and directory.
    server.stop();
    std::fs::copy(&snapshot, server.dir().join("dump.rdb")).unwrap();
    server.resume();
    bus.ping().await.unwrap();
    let mut r = raw(&server.url()).await;
    let restored: Option<String> = r.get("{conv:14}:seq").await.unwrap();
    assert_eq!(restored.as_deref(), Some("5"), "the older snapshot is back");

    // The client that saw offset 10 resumes: nothing it missed can be proven, so it must reload.
    let rec = bus
        .read_since(conv, Some(&newest.epoch), newest.offset, 100)
        .await
        .unwrap();
    assert!(!rec.recovered, "{rec:?}");
    assert_ne!(rec.epoch, newest.epoch);

    // New events never reuse an (epoch, offset) issued before the crash…
    for i in 0..8 {
        let e = bus.publish(conv, &delta(format!("new{i}"))).await.unwrap();
        assert!(
            !seen.contains(&(e.epoch.clone(), e.offset)),
            "position ({}, {}) issued twice",
            e.epoch,
            e.offset
        );
    }
    // …so a client that saw offset 8 before the crash is told it cannot recover, although the
    // counter has passed 8 again.
    let rec = bus
        .read_since(conv, Some(&newest.epoch), 8, 100)
        .await
        .unwrap();
    assert!(!rec.recovered, "{rec:?}");
    assert!(rec.entries.is_empty());
    server.stop();
}

#[tokio::test]
async fn publish_once_publishes_once_per_epoch() {
    let t = RedisServer::shared().fresh();
    let bus = bus::Bus::connect(config(&t)).unwrap();
    let conv = ConversationId(15);
    let remember = std::time::Duration::from_secs(60);
    let first = bus
        .publish_once(conv, "final:j1", &delta("done"), remember)
        .await
        .unwrap()
        .expect("published the first time");
    assert!(bus
        .publish_once(conv, "final:j1", &delta("done"), remember)
        .await
        .unwrap()
        .is_none());
    assert_eq!(bus.log_position(conv).await.unwrap().1, first.offset);

    // The log is lost but the marker survives: readers of the new epoch never saw the event,
    // so it goes out again, once.
    let mut r = raw(&t.url).await;
    let _: () = r.del(format!("{}{{conv:15}}:seq", t.prefix)).await.unwrap();
    let again = bus
        .publish_once(conv, "final:j1", &delta("done"), remember)
        .await
        .unwrap()
        .expect("published again in the new epoch");
    assert_ne!(again.epoch, first.epoch);
    assert!(bus
        .publish_once(conv, "final:j1", &delta("done"), remember)
        .await
        .unwrap()
        .is_none());
}

/// A failover and a failback without any restart: the old master keeps its run_id, but while it
/// was a replica it copied the new master's data, which lacks its last writes (the replication
/// lag). Promoted again, it must not continue those conversations in the old epoch.
#[tokio::test]
async fn a_failback_to_a_master_that_resynced_older_data_changes_the_epoch() {
    let (a, b) = (RedisServer::start(), RedisServer::start());
    let bus = bus::Bus::connect(bus::BusConfig::new(a.url())).unwrap();
    let conv = ConversationId(16);
    let (mut ra, mut rb) = (raw(&a.url()).await, raw(&b.url()).await);
    let port_of = |url: String| url.rsplit(':').next().unwrap().to_owned();
    let replicaof = |r: &mut redis::aio::MultiplexedConnection, port: Option<String>| {
        let mut cmd = redis::cmd("REPLICAOF");
        match port {
            Some(p) => cmd.arg("127.0.0.1").arg(p),
            None => cmd.arg("NO").arg("ONE"),
        };
        let mut r = r.clone();
        async move {
            let _: () = cmd.query_async(&mut r).await.unwrap();
        }
    };
    let wait_synced = |r: &redis::aio::MultiplexedConnection, key: String, want: &'static str| {
        let mut r = r.clone();
        async move {
            for _ in 0..200 {
                let got: Option<String> = r.get(&key).await.unwrap();
                if got.as_deref() == Some(want) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            panic!("{key} never became {want}");
        }
    };

    for r in [&mut ra, &mut rb] {
        // A full sync otherwise waits 5 s for more replicas to join it.
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("repl-diskless-sync-delay")
            .arg("0")
            .query_async(r)
            .await
            .unwrap();
    }
    replicaof(&mut rb, Some(port_of(a.url()))).await;
    let mut seen = HashSet::new();
    for i in 0..5 {
        let e = bus
            .publish(conv, &delta(format!("synced{i}")))
            .await
            .unwrap();
        seen.insert((e.epoch, e.offset));
    }
    wait_synced(&rb, "{conv:16}:seq".into(), "5").await;
    // Failover to b; a's last writes never reach it.
    replicaof(&mut rb, None).await;
    let mut last = None;
    for i in 0..5 {
        let e = bus
            .publish(conv, &delta(format!("lagged{i}")))
            .await
            .unwrap();
        seen.insert((e.epoch.clone(), e.offset));
        last = Some(e);
    }
    let last = last.unwrap();
    // a rejoins as b's replica (taking b's older data), then fails back: no restart anywhere.
    replicaof(&mut ra, Some(port_of(b.url()))).await;
    wait_synced(&ra, "{conv:16}:seq".into(), "5").await;
    replicaof(&mut ra, None).await;

    let rec = bus
        .read_since(conv, Some(&last.epoch), 8, 100)
        .await
        .unwrap();
    assert!(!rec.recovered, "{rec:?}");
    for i in 0..8 {
        let e = bus.publish(conv, &delta(format!("new{i}"))).await.unwrap();
        assert!(
            !seen.contains(&(e.epoch.clone(), e.offset)),
            "position ({}, {}) issued twice",
            e.epoch,
            e.offset
        );
    }
    a.stop();
    b.stop();
}
