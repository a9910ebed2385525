//! Operations: the node registry, graceful stop (close 1001, refuse new sockets, unregister),
//! and the gateway metrics.

use serde_json::Value;
use testkit::services::Backend;

use crate::helpers::{eventually, refused, Client, Cluster};

async fn nodes(c: &Cluster) -> Vec<Value> {
    c.bus
        .list_nodes()
        .await
        .unwrap()
        .into_iter()
        .map(|n| serde_json::from_str(&n.info).unwrap())
        .collect()
}

#[tokio::test]
async fn replicas_register_with_their_load_and_a_graceful_stop_closes_with_1001() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    client.subscribe(conv).await;

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let list = nodes(&c).await;
        let a = list.iter().find(|n| n["node_id"] == c.a.node_id.as_str());
        if let Some(a) = a.filter(|a| a["connections"] == 1 && a["subscriptions"] == 1) {
            assert_eq!(a["port"], c.a.port);
            assert!(a["started_at"].as_str().is_some());
            assert!(list.iter().any(|n| n["node_id"] == c.b.node_id.as_str()));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "registry: {list:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // The stop completes while the client is not reading: the close frame is written and the
    // TCP connection closed before it returns (the HTTP server does not track upgraded sockets;
    // the stop waits for them itself).
    let stopper = c.a.stopper.clone();
    tokio::spawn(async move { stopper.stop().await })
        .await
        .unwrap();
    assert_eq!(c.a.gateway.open_sockets(), 0);
    let (code, reason) = client.expect_close().await;
    assert_eq!(code, 1001);
    assert_eq!(reason, "server shutting down, reconnect");
    eventually("server task ends", || c.a.server.is_finished()).await;
    assert!(nodes(&c)
        .await
        .iter()
        .all(|n| n["node_id"] != c.a.node_id.as_str()));
    // The client reconnects to the other replica.
    let (mut moved, _) = Client::connect(&c.b, &token).await;
    moved.subscribe(conv).await;
}

#[tokio::test]
async fn a_draining_replica_refuses_new_sockets_with_503() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (_, token) = c.user("alice").await;
    c.b.gateway.begin_shutdown();
    let (status, body) = refused(&c.b.url(&format!("/ws?token={token}"))).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "unavailable");
}

#[tokio::test]
async fn gateway_metrics_are_exported() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    client.subscribe(conv).await;
    c.publish_delta(conv, "j", "x").await;
    client.event().await;
    let text = reqwest::get(c.a.http("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "gateway_connections",
        "gateway_subscriptions",
        "gateway_channels",
        "gateway_events_delivered_total",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
}
