//! Lossless resume: after a disconnect, after a replica dies, in the middle of an AI reply, and
//! the explicit `recovered: false` when the gap cannot be replayed; recovery after the Redis
//! pub/sub connection drops.

use std::time::Duration;

use domain::events::{ConversationEvent, Usage};
use serde_json::Value;
use testkit::services::{Backend, TestEnv};
use testkit::RedisServer;

use crate::helpers::{Client, Cluster};

fn epoch_of(v: &Value) -> String {
    v["epoch"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn resume_after_disconnect_replays_the_gap_then_continues_live() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let sub = client.subscribe(conv).await;
    let epoch = epoch_of(&sub);
    for i in 0..5 {
        c.publish_delta(conv, "j", &format!("a{i}")).await;
    }
    let mut last = 0;
    for _ in 0..5 {
        last = client.event().await.0;
    }
    drop(client);

    // Missed while away.
    let mut missed = Vec::new();
    for i in 0..7 {
        missed.push(c.publish_delta(conv, "j", &format!("b{i}")).await);
    }
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let sub = client.resume(conv, &epoch, last).await;
    assert_eq!(sub["recovered"], true);
    assert_eq!(sub["epoch"], epoch);
    assert_eq!(sub["offset"], *missed.last().unwrap());
    for (i, want) in missed.iter().enumerate() {
        let (offset, event) = client.event().await;
        assert_eq!(offset, *want);
        assert_eq!(event["text"], format!("b{i}"));
    }
    let live = c.publish_delta(conv, "j", "live").await;
    assert_eq!(client.event().await.0, live);
    client.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn resume_on_another_replica_after_one_is_killed_loses_nothing() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let epoch = epoch_of(&client.subscribe(conv).await);
    let first = c.publish_delta(conv, "j", "before").await;
    assert_eq!(client.event().await.0, first);

    // A publisher keeps going while replica A dies and the client moves to B.
    let publisher = {
        let bus = c.bus.clone();
        tokio::spawn(async move {
            let mut offsets = Vec::new();
            for i in 0..100 {
                let p = domain::events::EventPayload::from(ConversationEvent::Delta {
                    job_id: "j".into(),
                    attempt: 1,
                    text: format!("n{i}"),
                });
                offsets.push(bus.publish(conv, &p).await.unwrap().offset);
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            offsets
        })
    };
    tokio::time::sleep(Duration::from_millis(40)).await;
    c.a.stopper.kill().await;
    // Read what A managed to deliver before dying; the socket then just ends.
    let mut last = first;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(
        Duration::from_secs(2),
        futures_util::StreamExt::next(&mut client.ws),
    )
    .await
    {
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == "event" {
                let offset = v["offset"].as_u64().unwrap();
                assert_eq!(offset, last + 1, "no gap before the crash");
                last = offset;
            }
        }
    }

    let (mut moved, _) = Client::connect(&c.b, &token).await;
    let sub = moved.resume(conv, &epoch, last).await;
    assert_eq!(sub["recovered"], true);
    let offsets = publisher.await.unwrap();
    let end = *offsets.last().unwrap();
    let mut expected = last + 1;
    while expected <= end {
        let (offset, _) = moved.event().await;
        assert_eq!(offset, expected, "in order, no gap, no duplicate");
        expected += 1;
    }
    moved.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn resume_in_the_middle_of_an_ai_reply_catches_up_with_every_delta() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let epoch = epoch_of(&client.subscribe(conv).await);
    c.publish(
        conv,
        ConversationEvent::GenerationStarted {
            job_id: "reply-1".into(),
            attempt: 1,
            model: "mock/echo".into(),
            character_id: None,
        },
    )
    .await;
    let mut text = String::new();
    for word in ["Once ", "upon "] {
        c.publish_delta(conv, "reply-1", word).await;
    }
    let mut last = client.event().await.0; // generation.started
    for _ in 0..2 {
        let (offset, event) = client.event().await;
        text.push_str(event["text"].as_str().unwrap());
        last = offset;
    }
    drop(client); // the phone goes into a tunnel

    for word in ["a ", "time ", "there "] {
        c.publish_delta(conv, "reply-1", word).await;
    }
    let (mut client, _) = Client::connect(&c.b, &token).await;
    assert_eq!(client.resume(conv, &epoch, last).await["recovered"], true);
    for _ in 0..3 {
        let (_, event) = client.event().await;
        assert_eq!(event["type"], "delta");
        text.push_str(event["text"].as_str().unwrap());
    }
    c.publish_delta(conv, "reply-1", "was").await;
    text.push_str(client.event().await.1["text"].as_str().unwrap());
    assert_eq!(text, "Once upon a time there was");
    c.publish(
        conv,
        ConversationEvent::Failed {
            job_id: "reply-1".into(),
            reason: "stopped".into(),
            retryable: false,
            code: None,
        },
    )
    .await;
    assert_eq!(client.event().await.1["type"], "message.failed");
    let _ = Usage::default();
}

#[tokio::test]
async fn a_gap_beyond_the_retained_log_answers_recovered_false() {
    let c = Cluster::start_with(Backend::Sqlite, |s, _| s.redis.log_max_len = 10).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let epoch = epoch_of(&client.subscribe(conv).await);
    let first = c.publish_delta(conv, "j", "seen").await;
    assert_eq!(client.event().await.0, first);
    drop(client);
    let mut last = 0;
    for i in 0..300 {
        last = c.publish_delta(conv, "j", &format!("{i}")).await;
    }
    let (mut client, _) = Client::connect(&c.b, &token).await;
    let sub = client.resume(conv, &epoch, first).await;
    assert_eq!(sub["recovered"], false, "{sub}");
    assert_eq!(sub["offset"], last);
    // Nothing is replayed; live events continue after the reported offset.
    let next = c.publish_delta(conv, "j", "after").await;
    assert_eq!(client.event().await.0, next);
    assert_eq!(next, last + 1);
}

#[tokio::test]
async fn a_changed_epoch_answers_recovered_false() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    c.publish_delta(conv, "j", "x").await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let sub = client.resume(conv, "0000000000000000", 1).await;
    assert_eq!(sub["recovered"], false);
    assert_ne!(sub["epoch"], "0000000000000000");
    client.expect_silence(Duration::from_millis(200)).await;
    // An offset ahead of the log is just as unrecoverable.
    let epoch = epoch_of(&sub);
    let sub = client.resume(conv, &epoch, 999).await;
    assert_eq!(sub["recovered"], false);
}

#[tokio::test]
async fn typing_is_not_replayed_on_resume() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let epoch = epoch_of(&client.subscribe(conv).await);
    drop(client);
    c.publish(
        conv,
        ConversationEvent::Typing {
            user_id: alice,
            username: "a".into(),
        },
    )
    .await;
    let delta = c.publish_delta(conv, "j", "x").await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    client.resume(conv, &epoch, 0).await;
    let (offset, event) = client.event().await;
    assert_eq!((offset, event["type"].as_str()), (delta, Some("delta")));
}

/// Redis drops the gateways' pub/sub connections again and again while events are published:
/// the re-read on reconnect delivers whatever pub/sub missed, in order, exactly once.
#[tokio::test]
async fn events_published_while_pubsub_is_down_are_delivered_after_reconnect() {
    let redis = RedisServer::start();
    let mut env = TestEnv::new(Backend::Sqlite).await;
    env.settings.redis.url = redis.url();
    let c = Cluster::start_in(env, |_, _| {}).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut on_a, _) = Client::connect(&c.a, &token).await;
    let (mut on_b, _) = Client::connect(&c.b, &token).await;
    on_a.subscribe(conv).await;
    on_b.subscribe(conv).await;

    let client = redis::Client::open(redis.url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let mut offsets = Vec::new();
    for i in 0..30 {
        if i % 3 == 0 {
            let _: redis::Value = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("TYPE")
                .arg("pubsub")
                .query_async(&mut admin)
                .await
                .unwrap();
        }
        offsets.push(c.publish_delta(conv, "j", &format!("{i}")).await);
    }
    for client in [&mut on_a, &mut on_b] {
        for want in &offsets {
            assert_eq!(client.event().await.0, *want);
        }
        client.expect_silence(Duration::from_millis(300)).await;
    }
}

/// Redis restarts empty: the log is gone, a new epoch begins, and subscribers are told to
/// reload (`subscribed` with `recovered: false`) before live events continue.
#[tokio::test]
async fn a_redis_restart_without_data_tells_subscribers_to_reload() {
    let redis = RedisServer::start();
    let mut env = TestEnv::new(Backend::Sqlite).await;
    env.settings.redis.url = redis.url();
    let c = Cluster::start_in(env, |_, _| {}).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let old_epoch = epoch_of(&client.subscribe(conv).await);
    c.publish_delta(conv, "j", "before").await;
    client.event().await;

    redis.stop();
    redis.resume();
    // The bus subscriber reconnects, re-reads the log from its last offset, finds the epoch
    // changed and says so.
    let resync = client.expect("subscribed").await;
    assert_eq!(resync["recovered"], false);
    assert_ne!(epoch_of(&resync), old_epoch);
    let offset = c.publish_delta(conv, "j", "after").await;
    assert_eq!(offset, resync["offset"].as_u64().unwrap() + 1);
    let (got, event) = client.event().await;
    assert_eq!(got, offset);
    assert_eq!(event["text"], "after");
}

/// The re-read after a bus reconnect cannot reach Redis: after a few tries the subscribers are
/// told to reload (`recovered: false`) instead of silently missing what was published meanwhile.
#[tokio::test]
async fn a_re_read_that_keeps_failing_tells_subscribers_to_reload() {
    let redis = RedisServer::start();
    let mut env = TestEnv::new(Backend::Sqlite).await;
    env.settings.redis.url = redis.url();
    let c = Cluster::start_in(env, |_, _| {}).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let subscribed = client.subscribe(conv).await;
    let offset = c.publish_delta(conv, "j", "before").await;
    assert_eq!(client.event().await.0, offset);

    redis.stop();
    // What the router does when its subscriber reports a reconnect, with Redis gone again.
    c.a.gateway.hub.reread_all().await;
    let resync = client.expect("subscribed").await;
    assert_eq!(resync["recovered"], false);
    assert_eq!(resync["conversation_id"], conv.0);
    assert_eq!(resync["epoch"], subscribed["epoch"]);
    assert_eq!(resync["offset"].as_u64(), Some(offset));
    redis.resume();
}

/// Issue 14's drill: Redis is killed and comes back from an older snapshot, so the log's epoch
/// and an older counter both exist again. New events must not continue that epoch: a client
/// that saw offset 8 before the crash resumes after the counter passed 8 again, and is told to
/// reload instead of being handed events that are not the ones it missed.
#[tokio::test]
async fn a_redis_restored_from_an_older_snapshot_tells_every_resume_to_reload() {
    let redis = RedisServer::start();
    let mut env = TestEnv::new(Backend::Sqlite).await;
    env.settings.redis.url = redis.url();
    let c = Cluster::start_in(env, |_, _| {}).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut away, _) = Client::connect(&c.a, &token).await;
    let (mut live, _) = Client::connect(&c.b, &token).await;
    let epoch = epoch_of(&away.subscribe(conv).await);
    live.subscribe(conv).await;
    for i in 0..3 {
        c.publish_delta(conv, "j", &format!("saved{i}")).await;
    }
    let admin = redis::Client::open(redis.url()).unwrap();
    let mut admin = admin.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SAVE").query_async(&mut admin).await.unwrap();
    let snapshot = redis.dir().join("snapshot.rdb");
    std::fs::copy(redis.dir().join("dump.rdb"), &snapshot).unwrap();
    for i in 0..5 {
        c.publish_delta(conv, "j", &format!("lost{i}")).await;
    }
    let mut last = 0;
    for _ in 0..8 {
        last = away.event().await.0;
        live.event().await;
    }
    assert_eq!(last, 8);
    drop(away);

    redis.stop();
    std::fs::copy(&snapshot, redis.dir().join("dump.rdb")).unwrap();
    redis.resume();
    // The connected client is told to reload once the gateway's subscriber is back.
    let resync = live.expect("subscribed").await;
    assert_eq!(resync["recovered"], false, "{resync}");
    assert_ne!(epoch_of(&resync), epoch);
    for i in 0..6 {
        c.publish_delta(conv, "j", &format!("new{i}")).await;
    }
    let (mut back, _) = Client::connect(&c.a, &token).await;
    let sub = back.resume(conv, &epoch, last).await;
    assert_eq!(sub["recovered"], false, "{sub}");
    assert_ne!(epoch_of(&sub), epoch);
}
