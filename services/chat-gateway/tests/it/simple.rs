//! The simple per-conversation form `/ws/{conversation_id}?token=…` (seed 004): auto-subscribed,
//! `{"content": …}` in, message JSON (with `author_username` and `content`) out.

use std::time::Duration;

use serde_json::json;
use testkit::services::{Backend, BACKENDS};

use crate::helpers::{refused, Client, Cluster};

#[tokio::test]
async fn simple_clients_send_content_and_receive_messages_with_author_names() {
    for backend in BACKENDS {
        let c = Cluster::start(backend).await;
        let (alice, alice_token) = c.user("alice").await;
        let (bob, bob_token) = c.user("bob").await;
        let conv = c.group(&[alice, bob]).await;

        let mut alice_ws = Client::open(&c.a.url(&format!("/ws/{conv}?token={alice_token}")))
            .await
            .unwrap();
        let mut bob_ws = Client::open_with_header(&c.b.url(&format!("/ws/{conv}")), &bob_token)
            .await
            .unwrap();
        // A full-protocol client in the same conversation sees the same message as an event.
        let (mut full, _) = Client::connect(&c.b, &bob_token).await;
        full.subscribe(conv).await;
        tokio::time::sleep(Duration::from_millis(100)).await;

        alice_ws
            .send_json(json!({"content": "Hello, World!"}))
            .await;
        for client in [&mut alice_ws, &mut bob_ws] {
            let m = client.next_json().await;
            assert_eq!(m["content"], "Hello, World!", "{backend:?}: {m}");
            assert!(m["author_username"].as_str().unwrap().starts_with("alice"));
            assert_eq!(m["conversation_id"], conv.0);
            assert!(m["id"].as_i64().is_some());
            assert!(m["created_at"].as_str().is_some());
            assert!(m.get("type").is_none(), "a bare message, not a frame: {m}");
        }
        let (_, event) = full.event().await;
        assert_eq!(event["type"], "message.created");

        // Deltas, typing and other events are not messages: simple clients do not see them.
        c.publish_delta(conv, "j", "tok").await;
        bob_ws.expect_silence(Duration::from_millis(200)).await;

        // Bad input gets the error frame shape; the socket stays usable.
        bob_ws.send_text("not json").await;
        assert_eq!(bob_ws.next_json().await["code"], "bad_request");
        bob_ws.send_json(json!({"content": ""})).await;
        assert_eq!(bob_ws.next_json().await["code"], "validation");
        bob_ws.send_json(json!({"content": "hi alice"})).await;
        let m = alice_ws.next_json().await;
        assert_eq!(m["content"], "hi alice");
    }
}

#[tokio::test]
async fn simple_form_refuses_strangers_and_bad_tokens_before_the_upgrade() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, _) = c.user("alice").await;
    let (_, mallory) = c.user("mallory").await;
    let conv = c.group(&[alice]).await;
    let (status, body) = refused(&c.a.url(&format!("/ws/{conv}?token={mallory}"))).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _) = refused(&c.a.url(&format!("/ws/{conv}?token=bad"))).await;
    assert_eq!(status, 401);
    let (status, body) = refused(&c.a.url(&format!("/ws/abc?token={mallory}"))).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
}
