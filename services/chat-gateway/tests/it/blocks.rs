//! The block filter on fan-out: a blocked user's messages and typing are not delivered to the
//! blocker in a shared group (filtered by the gateway, not only in clients), live or replayed,
//! while everyone else still receives them.

use std::time::Duration;

use serde_json::json;
use testkit::services::{Backend, BACKENDS};

use crate::helpers::{Client, Cluster};

#[tokio::test]
async fn blocked_users_messages_are_not_delivered_to_the_blocker() {
    for backend in BACKENDS {
        blocked_users_messages_are_filtered_on(backend).await;
    }
}

async fn blocked_users_messages_are_filtered_on(backend: Backend) {
    let c = Cluster::start(backend).await;
    let (alice, alice_token) = c.user("alice").await;
    let (bob, bob_token) = c.user("bob").await;
    let (carol, carol_token) = c.user("carol").await;
    let conv = c.group(&[alice, bob, carol]).await;
    db::run(&c.pool, move |conn| db::blocks::block(conn, alice, bob))
        .await
        .unwrap();

    let (mut alice_ws, _) = Client::connect(&c.a, &alice_token).await;
    let (mut carol_ws, _) = Client::connect(&c.b, &carol_token).await;
    let (mut bob_ws, _) = Client::connect(&c.b, &bob_token).await;
    alice_ws.subscribe(conv).await;
    carol_ws.subscribe(conv).await;

    bob_ws
        .send_json(
            json!({"type": "send", "id": "1", "conversation_id": conv, "content": "from bob"}),
        )
        .await;
    bob_ws.expect("ack").await;
    let seen = carol_ws.until(|f| f["type"] == "event").await;
    assert_eq!(seen["event"]["message"]["content"], "from bob");

    // Carol speaks after Bob: Alice gets Carol's message and never Bob's.
    carol_ws
        .send_json(
            json!({"type": "send", "id": "2", "conversation_id": conv, "content": "from carol"}),
        )
        .await;
    let got = alice_ws.until(|f| f["type"] == "event").await;
    assert_eq!(
        got["event"]["message"]["content"], "from carol",
        "bob's message was filtered"
    );
    alice_ws.expect_silence(Duration::from_millis(300)).await;

    // A resume from the start replays the log, filtered the same way.
    let (mut again, _) = Client::connect(&c.b, &alice_token).await;
    again
        .send_json(json!({"type": "subscribe", "id": "r", "conversation_id": conv, "epoch": got["epoch"], "offset": 0}))
        .await;
    let replayed = again.until(|f| f["type"] == "event").await;
    assert_eq!(replayed["event"]["message"]["content"], "from carol");
}

/// A member removed from a group (api-service removes the row and publishes
/// `conversation.removed` on their user channel) stops receiving it at once, on every socket.
#[tokio::test]
async fn a_removed_member_stops_receiving_at_once() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, _) = c.user("alice").await;
    let (bob, bob_token) = c.user("bob").await;
    let conv = c.group(&[alice, bob]).await;
    let (mut bob_ws, _) = Client::connect(&c.a, &bob_token).await;
    bob_ws.subscribe(conv).await;
    c.publish_delta(conv, "job-1", "before").await;
    assert_eq!(
        bob_ws.until(|f| f["type"] == "event").await["event"]["text"],
        "before"
    );

    db::run(&c.pool, move |conn| db::members::remove(conn, conv, bob))
        .await
        .unwrap();
    c.bus
        .publish_user(
            bob,
            &domain::events::UserEvent::ConversationRemoved {
                conversation_id: conv,
            },
        )
        .await
        .unwrap();
    let gone = bob_ws.until(|f| f["type"] == "unsubscribed").await;
    assert_eq!(gone["conversation_id"], conv.0);
    c.publish_delta(conv, "job-1", "after").await;
    // Other frames (the `notification` of the removal, presence) may follow; no event may.
    while let Some(msg) = bob_ws.next_message(Duration::from_millis(300)).await {
        let frame: serde_json::Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        assert_ne!(frame["type"], "event", "delivered after removal: {frame}");
    }
    // And subscribing again is refused: membership is checked on subscribe.
    bob_ws
        .send_json(json!({"type": "subscribe", "id": "again", "conversation_id": conv}))
        .await;
    let refused = bob_ws.until(|f| f["type"] == "error").await;
    assert_eq!(refused["code"], "not_found");
}

/// A block made while the blocker is subscribed applies at once: api-service announces the new
/// list on the blocker's user channel and the gateway updates the filter of open subscriptions.
#[tokio::test]
async fn a_new_block_applies_to_open_subscriptions() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, alice_token) = c.user("alice").await;
    let (bob, bob_token) = c.user("bob").await;
    let (carol, carol_token) = c.user("carol").await;
    let conv = c.group(&[alice, bob, carol]).await;
    let (mut alice_ws, _) = Client::connect(&c.a, &alice_token).await;
    let (mut bob_ws, _) = Client::connect(&c.b, &bob_token).await;
    let (mut carol_ws, _) = Client::connect(&c.b, &carol_token).await;
    alice_ws.subscribe(conv).await;

    c.bus
        .publish_user(
            alice,
            &domain::events::UserEvent::BlocksChanged { blocked: vec![bob] },
        )
        .await
        .unwrap();
    alice_ws.until(|f| f["type"] == "notification").await;
    bob_ws
        .send_json(
            json!({"type": "send", "id": "1", "conversation_id": conv, "content": "from bob"}),
        )
        .await;
    bob_ws.expect("ack").await;
    carol_ws
        .send_json(
            json!({"type": "send", "id": "2", "conversation_id": conv, "content": "from carol"}),
        )
        .await;
    carol_ws.expect("ack").await;
    let got = alice_ws.until(|f| f["type"] == "event").await;
    assert_eq!(
        got["event"]["message"]["content"], "from carol",
        "bob's message was filtered"
    );
}
