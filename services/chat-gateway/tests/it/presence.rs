//! Presence: online/offline per conversation member, across replicas, with TTL so a dead
//! replica's users go offline.

use serde_json::Value;
use testkit::services::Backend;

use crate::helpers::{Client, Cluster};

fn is_presence(user: domain::UserId, online: bool) -> impl Fn(&Value) -> bool {
    move |v: &Value| v["type"] == "presence" && v["user_id"] == user.0 && v["online"] == online
}

#[tokio::test]
async fn members_see_each_other_come_and_go_across_replicas() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, alice_token) = c.user("alice").await;
    let (bob, bob_token) = c.user("bob").await;
    let conv = c.group(&[alice, bob]).await;

    let (mut bob_ws, _) = Client::connect(&c.b, &bob_token).await;
    bob_ws.subscribe(conv).await;
    // The snapshot after `subscribed` has bob himself online.
    bob_ws.until(is_presence(bob, true)).await;

    let (alice_ws, _) = Client::connect(&c.a, &alice_token).await;
    let v = bob_ws.until(is_presence(alice, true)).await;
    assert_eq!(v["conversation_id"], conv.0);

    // A second device keeps alice online when the first one leaves.
    let (alice_2, _) = Client::connect(&c.b, &alice_token).await;
    drop(alice_ws);
    drop(alice_2);
    bob_ws.until(is_presence(alice, false)).await;
}

#[tokio::test]
async fn a_dead_replicas_users_go_offline_when_their_ttl_expires() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, alice_token) = c.user("alice").await;
    let (bob, bob_token) = c.user("bob").await;
    let conv = c.group(&[alice, bob]).await;
    let (_alice_ws, _) = Client::connect(&c.a, &alice_token).await;
    let (mut bob_ws, _) = Client::connect(&c.b, &bob_token).await;
    bob_ws.subscribe(conv).await;
    bob_ws.until(is_presence(alice, true)).await;
    assert!(c.bus.is_online(alice).await.unwrap());

    c.a.stopper.kill().await; // no cleanup: only the TTL can take alice offline
    let started = std::time::Instant::now();
    bob_ws.until(is_presence(alice, false)).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(!c.bus.is_online(alice).await.unwrap());
}
