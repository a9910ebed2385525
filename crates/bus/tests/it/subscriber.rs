use std::collections::HashMap;
use std::time::Duration;

use bus::{Bus, BusConfig, SubscriberEvent};
use domain::events::UserEvent;
use domain::{ConversationId, UserId};
use testkit::RedisServer;

use crate::helpers::{bus, delta, next, nothing_for};

#[tokio::test]
async fn one_connection_multiplexes_many_conversations_and_stops_after_unsubscribe() {
    let bus = bus();
    let (sub, mut events) = bus.subscriber().await.unwrap().into_parts();
    let convs: Vec<ConversationId> = (1..=50).map(ConversationId).collect();
    for &c in &convs {
        sub.subscribe(c).await.unwrap();
        sub.subscribe(c).await.unwrap(); // idempotent
    }
    assert_eq!(sub.channel_count(), 50);
    // An unsubscribed conversation is never delivered.
    bus.publish(ConversationId(999), &delta("nobody"))
        .await
        .unwrap();
    for &c in &convs {
        for i in 0..3 {
            bus.publish(c, &delta(format!("{i}"))).await.unwrap();
        }
    }
    let mut seen: HashMap<ConversationId, Vec<u64>> = HashMap::new();
    for _ in 0..150 {
        match next(&mut events, 5).await {
            SubscriberEvent::Entry(e) => seen.entry(e.conversation_id).or_default().push(e.offset),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen.len(), 50);
    assert!(seen.values().all(|o| o == &[1, 2, 3]));
    nothing_for(&mut events, 100).await;

    sub.unsubscribe(ConversationId(1)).await.unwrap();
    sub.unsubscribe(ConversationId(1)).await.unwrap(); // idempotent
    bus.publish(ConversationId(1), &delta("gone"))
        .await
        .unwrap();
    bus.publish(ConversationId(2), &delta("still here"))
        .await
        .unwrap();
    match next(&mut events, 5).await {
        SubscriberEvent::Entry(e) => {
            assert_eq!((e.conversation_id, e.offset), (ConversationId(2), 4))
        }
        other => panic!("unexpected {other:?}"),
    }
    nothing_for(&mut events, 200).await;

    // The Redis server sees one subscriber connection for all of them.
    let mut raw = crate::helpers::raw(&bus.config().url).await;
    let prefix = &bus.config().key_prefix;
    let channels: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .arg(format!("{prefix}*"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(channels.len(), 49);
}

#[tokio::test]
async fn two_buses_share_events_through_redis_only() {
    let bus_a = bus();
    let bus_b = Bus::connect(bus_a.config().clone()).unwrap();
    let sub = bus_b.subscriber().await.unwrap();
    sub.subscribe(ConversationId(4)).await.unwrap();
    let published = bus_a
        .publish(ConversationId(4), &delta("hi"))
        .await
        .unwrap();
    let (_, mut events) = sub.into_parts();
    assert_eq!(
        next(&mut events, 5).await,
        SubscriberEvent::Entry(published)
    );
}

#[tokio::test]
async fn user_channels_deliver_user_events() {
    let bus = bus();
    let (sub, mut events) = bus.subscriber().await.unwrap().into_parts();
    sub.subscribe_user(UserId(7)).await.unwrap();
    bus.publish_user(UserId(8), &UserEvent::SessionRevoked)
        .await
        .unwrap();
    bus.publish_user(
        UserId(7),
        &UserEvent::ConversationAdded {
            conversation_id: ConversationId(3),
        },
    )
    .await
    .unwrap();
    match next(&mut events, 5).await {
        SubscriberEvent::User { user_id, payload } => {
            assert_eq!(user_id, UserId(7));
            let ev: UserEvent = serde_json::from_str(&payload).unwrap();
            assert_eq!(
                ev,
                UserEvent::ConversationAdded {
                    conversation_id: ConversationId(3)
                }
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    sub.unsubscribe_user(UserId(7)).await.unwrap();
    bus.publish_user(UserId(7), &UserEvent::SessionRevoked)
        .await
        .unwrap();
    nothing_for(&mut events, 200).await;
}

#[tokio::test]
async fn prefixes_keep_channels_of_different_deployments_apart() {
    let a = bus();
    let b = bus();
    let (sub, mut events) = a.subscriber().await.unwrap().into_parts();
    sub.subscribe(ConversationId(1)).await.unwrap();
    b.publish(ConversationId(1), &delta("other deployment"))
        .await
        .unwrap();
    nothing_for(&mut events, 200).await;
}

#[tokio::test]
async fn reconnects_resubscribes_and_says_so_after_redis_restarts() {
    let server = RedisServer::start();
    let bus = Bus::connect(BusConfig::new(server.url()).with_prefix("p:")).unwrap();
    let (sub, mut events) = bus.subscriber().await.unwrap().into_parts();
    sub.subscribe(ConversationId(1)).await.unwrap();
    sub.subscribe_user(UserId(1)).await.unwrap();
    let first = bus
        .publish(ConversationId(1), &delta("before"))
        .await
        .unwrap();
    assert_eq!(
        next(&mut events, 5).await,
        SubscriberEvent::Entry(first.clone())
    );
    assert!(sub.is_connected());

    server.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!sub.is_connected());
    // Subscribing while down is recorded and applied on reconnect.
    sub.subscribe(ConversationId(2)).await.unwrap();
    server.resume();

    assert_eq!(next(&mut events, 15).await, SubscriberEvent::Reconnected);
    assert!(sub.is_connected());
    // The data was lost with the server: a new epoch, and both channels live again.
    let after = bus
        .publish(ConversationId(1), &delta("after"))
        .await
        .unwrap();
    assert_ne!(after.epoch, first.epoch);
    assert_eq!(next(&mut events, 5).await, SubscriberEvent::Entry(after));
    let other = bus.publish(ConversationId(2), &delta("new")).await.unwrap();
    assert_eq!(next(&mut events, 5).await, SubscriberEvent::Entry(other));
    bus.publish_user(UserId(1), &UserEvent::SessionRevoked)
        .await
        .unwrap();
    assert!(matches!(
        next(&mut events, 5).await,
        SubscriberEvent::User {
            user_id: UserId(1),
            ..
        }
    ));
    server.stop();
}

#[tokio::test]
async fn subscriber_started_while_redis_is_down_connects_later() {
    let server = RedisServer::start();
    server.stop();
    let bus = Bus::connect(BusConfig::new(server.url())).unwrap();
    let (sub, mut events) = bus.subscriber().await.unwrap().into_parts();
    sub.subscribe(ConversationId(1)).await.unwrap();
    server.resume();
    assert_eq!(next(&mut events, 15).await, SubscriberEvent::Reconnected);
    let e = bus.publish(ConversationId(1), &delta("x")).await.unwrap();
    assert_eq!(next(&mut events, 5).await, SubscriberEvent::Entry(e));
    server.stop();
}
