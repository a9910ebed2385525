//! Delivery across replicas, in order, and the `send` path through `chat::messages::send`.

use std::time::Duration;

use domain::ConversationKind;
use serde_json::json;
use testkit::services::{Backend, BACKENDS};

use crate::helpers::{Client, Cluster};

#[tokio::test]
async fn events_reach_subscribers_on_both_replicas_in_order() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, alice_token) = c.user("alice").await;
    let (bob, bob_token) = c.user("bob").await;
    let conv = c.group(&[alice, bob]).await;

    let (mut on_a, ready) = Client::connect(&c.a, &alice_token).await;
    assert_eq!(ready["user"]["id"], alice.0);
    assert!(ready["connection_id"]
        .as_str()
        .unwrap()
        .starts_with(&c.a.node_id));
    let (mut on_b, _) = Client::connect(&c.b, &bob_token).await;
    // The same user on a second device, on the other replica.
    let (mut alice_2, _) = Client::connect(&c.b, &alice_token).await;
    let sub = on_a.subscribe(conv).await;
    assert_eq!(sub["recovered"], true);
    assert_eq!(sub["id"], "s");
    on_b.subscribe(conv).await;
    alice_2.subscribe(conv).await;

    let mut offsets = Vec::new();
    for i in 0..200 {
        offsets.push(c.publish_delta(conv, "job-1", &format!("t{i}")).await);
    }
    for client in [&mut on_a, &mut on_b, &mut alice_2] {
        for (i, want) in offsets.iter().enumerate() {
            let (offset, event) = client.event().await;
            assert_eq!(offset, *want);
            assert_eq!(event["type"], "delta");
            assert_eq!(event["text"], format!("t{i}"));
        }
    }
    // Each replica holds ONE Redis subscription for the conversation, however many sockets.
    assert_eq!(c.b.gateway.hub.stats().channels, 1);
    assert_eq!(c.b.gateway.hub.stats().subscriptions, 2);
}

#[tokio::test]
async fn unsubscribe_stops_delivery_and_releases_the_channel() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.group(&[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    client.subscribe(conv).await;
    assert_eq!(c.a.gateway.hub.stats().channels, 1);
    client
        .send_json(json!({"type": "unsubscribe", "id": "u1", "conversation_id": conv}))
        .await;
    let v = client.expect("unsubscribed").await;
    assert_eq!(v["id"], "u1");
    assert_eq!(c.a.gateway.hub.stats().channels, 0);
    c.publish_delta(conv, "j", "x").await;
    client.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn send_is_acked_with_the_stored_message_and_fans_out_on_both_backends() {
    for backend in BACKENDS {
        let c = Cluster::start(backend).await;
        let (alice, alice_token) = c.user("alice").await;
        let (bob, bob_token) = c.user("bob").await;
        let conv = c.conversation(ConversationKind::Group, &[alice, bob]).await;
        let (mut sender, _) = Client::connect(&c.a, &alice_token).await;
        let (mut receiver, _) = Client::connect(&c.b, &bob_token).await;
        receiver.subscribe(conv).await;

        sender
            .send_json(json!({
                "type": "send", "id": "m1", "conversation_id": conv,
                "content": "hello bob", "client_id": "c-1"
            }))
            .await;
        let ack = sender.expect("ack").await;
        assert_eq!(ack["id"], "m1", "{backend:?}");
        assert_eq!(ack["message"]["content"], "hello bob");
        assert_eq!(ack["message"]["author_id"], alice.0);
        assert_eq!(ack["job_id"], serde_json::Value::Null);
        let message_id = ack["message"]["id"].clone();

        let (_, event) = receiver.event().await;
        assert_eq!(event["type"], "message.created");
        assert_eq!(event["message"]["id"], message_id);
        assert_eq!(
            event["message"]["author_username"],
            ack["message"]["author_username"]
        );

        // A retry with the same client id returns the original and publishes nothing new.
        sender
            .send_json(json!({
                "type": "send", "id": "m2", "conversation_id": conv,
                "content": "hello bob", "client_id": "c-1"
            }))
            .await;
        let retry = sender.expect("ack").await;
        assert_eq!(retry["id"], "m2");
        assert_eq!(retry["message"]["id"], message_id);
        receiver.expect_silence(Duration::from_millis(300)).await;

        // Validation errors come back as error frames with the shared code and the frame id.
        sender
            .send_json(
                json!({"type": "send", "id": "m3", "conversation_id": conv, "content": "   "}),
            )
            .await;
        let err = sender.expect("error").await;
        assert_eq!(err["id"], "m3");
        assert_eq!(err["code"], "validation");
    }
}

#[tokio::test]
async fn send_in_an_ai_chat_answers_with_the_reply_job() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.conversation(ConversationKind::AiChat, &[alice]).await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    client
        .send_json(json!({"type": "send", "id": "1", "conversation_id": conv, "content": "hi"}))
        .await;
    let ack = client.expect("ack").await;
    let message_id = ack["message"]["id"].as_i64().unwrap();
    assert_eq!(ack["job_id"], format!("reply-{message_id}"));
}
