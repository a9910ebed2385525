//! The block filter on fan-out: a blocked user's messages and typing are not delivered to the
//! blocker in a shared group (filtered by the gateway, not only in clients), live or replayed,
//! while everyone else still receives them.

use std::time::Duration;

use serde_json::json;
use testkit::services::Backend;

use crate::helpers::{Client, Cluster};

#[tokio::test]
async fn blocked_users_messages_are_not_delivered_to_the_blocker() {
    let c = Cluster::start(Backend::Sqlite).await;
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
