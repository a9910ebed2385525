//! `typing` and `cancel`.

use std::time::Duration;

use db::messages::AssistantReply;
use domain::MessageStatus;
use serde_json::json;
use testkit::services::Backend;

use crate::helpers::{Client, Cluster};

#[tokio::test]
async fn typing_is_published_to_other_members_and_throttled() {
    let c = Cluster::start_with(Backend::Sqlite, |_, g| {
        g.typing_interval = Duration::from_millis(500)
    })
    .await;
    let (alice, alice_token) = c.user("alice").await;
    let (bob, bob_token) = c.user("bob").await;
    let conv = c.group(&[alice, bob]).await;
    let (mut alice_ws, _) = Client::connect(&c.a, &alice_token).await;
    let (mut bob_ws, _) = Client::connect(&c.b, &bob_token).await;
    bob_ws.subscribe(conv).await;

    // Typing does not require a subscription, only membership.
    for _ in 0..5 {
        alice_ws
            .send_json(json!({"type": "typing", "conversation_id": conv}))
            .await;
    }
    let (_, event) = bob_ws.event().await;
    assert_eq!(event["type"], "typing");
    assert_eq!(event["user_id"], alice.0);
    assert!(event["username"].as_str().unwrap().starts_with("alice"));
    // The four extra frames within the interval were dropped silently.
    bob_ws.expect_silence(Duration::from_millis(300)).await;
    alice_ws.expect_silence(Duration::from_millis(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    alice_ws
        .send_json(json!({"type": "typing", "conversation_id": conv}))
        .await;
    assert_eq!(bob_ws.event().await.1["type"], "typing");
}

#[tokio::test]
async fn cancel_requests_a_stop_of_the_streaming_reply() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c
        .conversation(domain::ConversationKind::AiChat, &[alice])
        .await;
    let (mut client, _) = Client::connect(&c.a, &token).await;

    // Nothing streaming yet: a conflict, as over REST.
    client
        .send_json(json!({"type": "cancel", "id": "c0", "conversation_id": conv}))
        .await;
    let err = client.expect("error").await;
    assert_eq!(
        (err["id"].as_str(), err["code"].as_str()),
        (Some("c0"), Some("conflict"))
    );

    // A user message and its reply job, before the worker wrote anything: by job id.
    client
        .send_json(
            json!({"type": "send", "id": "m", "conversation_id": conv, "content": "tell me"}),
        )
        .await;
    let ack = client.expect("ack").await;
    let job = ack["job_id"].as_str().unwrap().to_owned();
    client
        .send_json(json!({"type": "cancel", "id": "c1", "conversation_id": conv, "job_id": job}))
        .await;
    let done = client.expect("cancel_requested").await;
    assert_eq!(
        (done["id"].as_str(), done["job_id"].as_str()),
        (Some("c1"), Some(job.as_str()))
    );
    assert!(c.bus.is_cancelled(&job).await.unwrap());

    // A reply streaming (as the worker writes it): without a job id, that one is meant.
    client
        .send_json(
            json!({"type": "send", "id": "m2", "conversation_id": conv, "content": "and then?"}),
        )
        .await;
    let ack = client.expect("ack").await;
    let trigger = domain::MessageId(ack["message"]["id"].as_i64().unwrap());
    let streaming = ack["job_id"].as_str().unwrap().to_owned();
    let reply = AssistantReply {
        job_id: streaming.clone(),
        conversation_id: conv,
        character_id: None,
        reply_to_id: Some(trigger),
        content: "Once".into(),
        status: MessageStatus::Streaming,
        model: Some("mock/echo".into()),
        prompt_tokens: None,
        completion_tokens: None,
    };
    db::run(&c.pool, move |conn| {
        db::messages::upsert_assistant_reply(conn, reply)
    })
    .await
    .unwrap();
    client
        .send_json(json!({"type": "cancel", "id": "c2", "conversation_id": conv}))
        .await;
    let done = client.expect("cancel_requested").await;
    assert_eq!(done["job_id"], streaming.as_str());
    assert!(c.bus.is_cancelled(&streaming).await.unwrap());

    // A job of another conversation cannot be cancelled from this one.
    let other = c
        .conversation(domain::ConversationKind::AiChat, &[alice])
        .await;
    client
        .send_json(
            json!({"type": "cancel", "id": "c3", "conversation_id": other, "job_id": streaming}),
        )
        .await;
    assert_eq!(client.expect("error").await["code"], "not_found");
}
