//! Authentication before the upgrade, authorization of subscriptions and sends, token expiry
//! on an open socket with re-authentication, and session revocation.

use std::time::Duration;

use domain::events::UserEvent;
use domain::Role;
use serde_json::json;
use testkit::services::{Backend, BACKENDS};

use crate::helpers::{refused, Client, Cluster};

#[tokio::test]
async fn missing_bad_expired_or_revoked_tokens_are_refused_before_the_upgrade() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;

    let (status, body) = refused(&c.a.url("/ws")).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(body["detail"], "missing bearer token");

    let (status, body) = refused(&c.a.url("/ws?token=not-a-jwt")).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));

    let expired = c.token_with_ttl(alice, -60);
    let (status, body) = refused(&c.a.url(&format!("/ws?token={expired}"))).await;
    assert_eq!(status, 401);
    assert_eq!(body["detail"], "access token expired");

    let revoked = c.keys.issue(alice, "alice", domain::Role::User).unwrap();
    c.bus
        .revoke_jti(&revoked.jti, Duration::from_secs(60))
        .await
        .unwrap();
    let (status, body) = refused(&c.a.url(&format!("/ws?token={}", revoked.token))).await;
    assert_eq!(status, 401);
    assert_eq!(body["detail"], "access token revoked");

    // The header form works as well as the query form.
    let mut ok = Client::open_with_header(&c.b.url("/ws"), &token)
        .await
        .unwrap();
    assert_eq!(ok.expect("ready").await["user"]["id"], alice.0);
}

#[tokio::test]
async fn strangers_cannot_subscribe_send_or_cancel_on_both_backends() {
    for backend in BACKENDS {
        let c = Cluster::start(backend).await;
        let (alice, _) = c.user("alice").await;
        let (_, mallory_token) = c.user("mallory").await;
        let conv = c.group(&[alice]).await;
        let (mut mallory, _) = Client::connect(&c.a, &mallory_token).await;

        mallory
            .send_json(json!({"type": "subscribe", "id": "1", "conversation_id": conv}))
            .await;
        let err = mallory.expect("error").await;
        assert_eq!(
            (err["id"].as_str(), err["code"].as_str()),
            (Some("1"), Some("not_found"))
        );
        assert_eq!(c.a.gateway.hub.stats().subscriptions, 0, "{backend:?}");

        mallory
            .send_json(json!({"type": "send", "id": "2", "conversation_id": conv, "content": "hi"}))
            .await;
        let err = mallory.expect("error").await;
        assert_eq!(
            (err["id"].as_str(), err["code"].as_str()),
            (Some("2"), Some("not_found"))
        );

        mallory
            .send_json(
                json!({"type": "cancel", "id": "3", "conversation_id": conv, "job_id": "reply-1"}),
            )
            .await;
        let err = mallory.expect("error").await;
        assert_eq!(err["code"], "not_found");

        mallory
            .send_json(json!({"type": "typing", "id": "4", "conversation_id": conv}))
            .await;
        assert_eq!(mallory.expect("error").await["code"], "not_found");

        // A conversation that does not exist looks exactly the same.
        mallory
            .send_json(json!({"type": "subscribe", "id": "5", "conversation_id": 999_999}))
            .await;
        assert_eq!(mallory.expect("error").await["code"], "not_found");
        // And the socket is still fine.
        mallory.send_json(json!({"type": "ping", "id": "p"})).await;
        assert_eq!(mallory.expect("pong").await["id"], "p");
    }
}

#[tokio::test]
async fn an_expiring_token_closes_the_socket_with_4401_unless_renewed() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, _) = c.user("alice").await;

    let short = c.token_with_ttl(alice, 1);
    let (mut client, ready) = Client::connect(&c.a, &short).await;
    assert!(ready["expires_at"].as_i64().unwrap() > 0);
    let (code, reason) = client.expect_close().await;
    assert_eq!(code, 4401);
    assert_eq!(reason, "token expired");

    // Renewed in time with an `auth` frame, the socket stays open past the first expiry.
    let short = c.token_with_ttl(alice, 2);
    let (mut client, _) = Client::connect(&c.a, &short).await;
    let fresh = c.token_with_ttl(alice, 600);
    client
        .send_json(json!({"type": "auth", "id": "a1", "token": fresh}))
        .await;
    let authed = client.expect("authenticated").await;
    assert_eq!(authed["id"], "a1");
    assert!(authed["expires_at"].as_i64().unwrap() > chrono::Utc::now().timestamp() + 500);
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    client
        .send_json(json!({"type": "ping", "id": "still"}))
        .await;
    assert_eq!(client.expect("pong").await["id"], "still");

    // Someone else's token is refused and changes nothing.
    let (_, other) = c.user("other").await;
    client
        .send_json(json!({"type": "auth", "id": "a2", "token": other}))
        .await;
    assert_eq!(client.expect("error").await["code"], "forbidden");
    client
        .send_json(json!({"type": "auth", "id": "a3", "token": "garbage"}))
        .await;
    assert_eq!(client.expect("error").await["code"], "unauthorized");
}

#[tokio::test]
async fn a_revoked_session_closes_every_socket_of_the_user_at_once() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let (_, bob_token) = c.user("bob").await;
    let (mut on_a, _) = Client::connect(&c.a, &token).await;
    let (mut on_b, _) = Client::connect(&c.b, &token).await;
    let (mut bob, _) = Client::connect(&c.b, &bob_token).await;

    c.bus
        .publish_user(alice, &UserEvent::SessionRevoked)
        .await
        .unwrap();
    for client in [&mut on_a, &mut on_b] {
        let (code, reason) = client.expect_close().await;
        assert_eq!((code, reason.as_str()), (4401, "session revoked"));
    }
    bob.send_json(json!({"type": "ping"})).await;
    bob.expect("pong").await;
}

// Issue 13, hole 5: logout left open sockets working. Ending one session closes the sockets
// opened with its tokens (on every replica) and only those.
#[tokio::test]
async fn an_ended_session_closes_its_sockets_and_only_them() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, _) = c.user("alice").await;
    let laptop = c
        .keys
        .issue_in_session(alice, "alice", Role::User, "family-laptop")
        .unwrap()
        .token;
    let phone = c
        .keys
        .issue_in_session(alice, "alice", Role::User, "family-phone")
        .unwrap()
        .token;
    let (mut laptop_a, _) = Client::connect(&c.a, &laptop).await;
    let (mut laptop_b, _) = Client::connect(&c.b, &laptop).await;
    let (mut on_phone, _) = Client::connect(&c.b, &phone).await;

    c.bus
        .publish_user(
            alice,
            &UserEvent::SessionEnded {
                session_id: "family-laptop".into(),
            },
        )
        .await
        .unwrap();
    for client in [&mut laptop_a, &mut laptop_b] {
        let (code, reason) = client.expect_close().await;
        assert_eq!((code, reason.as_str()), (4401, "session ended"));
    }
    on_phone.send_json(json!({"type": "ping"})).await;
    on_phone.expect("pong").await;
}
