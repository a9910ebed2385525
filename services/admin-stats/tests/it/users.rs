//! The user list, details, and deactivation / role changes taking effect at once.

use std::time::Duration;

use bus::SubscriberEvent;
use db::stats::GenerationOutcome;
use domain::events::UserEvent;
use domain::{MessageId, Role};
use serde_json::json;

use crate::helpers::today;
use testkit::both_backends;

fn names(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

both_backends!(users_are_searched_sorted_and_paged, |app| {
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let bob = app.user_with("bob", "Robert@Example.org", Role::User).await;
    let carol = app.user("carol").await;
    app.generation(
        "j1",
        bob.id,
        None,
        "openai/gpt-4o",
        today(),
        GenerationOutcome::Ok,
        Some(900),
        (700, 300),
    )
    .await;
    app.generation(
        "j2",
        alice.id,
        None,
        "mock",
        today(),
        GenerationOutcome::Ok,
        None,
        (5, 5),
    )
    .await;
    let id = alice.id;
    db::run(&app.db, move |c| {
        db::stats::record_user_message(c, id, None, today(), MessageId(1))?;
        db::stats::record_user_message(c, id, None, today(), MessageId(2))
    })
    .await
    .unwrap();

    let page = app
        .get(
            "/api/v1/admin/users?sort=tokens_month&order=desc",
            &root.token,
        )
        .await
        .expect(200);
    assert_eq!(
        names(&page),
        ["bob", "alice", "carol", "root"].map(String::from)
    );
    assert_eq!(page["total"], 4);
    assert_eq!(page["items"][0]["tokens_month"], 1000);
    assert_eq!(page["items"][0]["message_count"], 1, "one AI reply");
    let a = &page["items"][1];
    assert_eq!(a["messages_month"], 2);
    assert_eq!(a["message_count"], 3, "two sent + one reply");
    assert!(a["last_active_at"].is_string());
    assert_eq!(a["email"], "alice@example.com");
    assert_eq!(a["role"], "user");
    assert_eq!(a["is_active"], true);

    let page = app
        .get(
            "/api/v1/admin/users?sort=username&limit=2&offset=1",
            &root.token,
        )
        .await
        .expect(200);
    assert_eq!(names(&page), ["bob", "carol"]);
    assert_eq!(
        (
            page["total"].as_i64(),
            page["limit"].as_i64(),
            page["offset"].as_i64()
        ),
        (Some(4), Some(2), Some(1))
    );
    let page = app
        .get("/api/v1/admin/users?q=ROBERT", &root.token)
        .await
        .expect(200);
    assert_eq!(names(&page), ["bob"], "email search is case-insensitive");
    let page = app
        .get("/api/v1/admin/users?role=admin", &root.token)
        .await
        .expect(200);
    assert_eq!(names(&page), ["root"]);
    let page = app
        .get("/api/v1/admin/users?sort=last_active_at", &root.token)
        .await
        .expect(200);
    assert_eq!(names(&page)[0], "alice");
    let page = app
        .get("/api/v1/admin/users?is_active=false", &root.token)
        .await
        .expect(200);
    assert_eq!(page["total"], 0);
    let page = app
        .get("/api/v1/admin/users?sort=created_at&order=asc", &root.token)
        .await
        .expect(200);
    assert_eq!(names(&page), ["root", "alice", "bob", "carol"]);
    let _ = carol;

    for bad in [
        "sort=email",
        "order=up",
        "limit=0",
        "limit=101",
        "offset=-1",
        "limit=ten",
        "role=owner",
        "is_active=maybe",
        "unknown=1",
    ] {
        let body = app
            .get(&format!("/api/v1/admin/users?{bad}"), &root.token)
            .await
            .expect(422);
        assert_eq!(body["code"], "validation", "{bad}");
    }
    let long = "x".repeat(101);
    app.get(&format!("/api/v1/admin/users?q={long}"), &root.token)
        .await
        .expect(422);
});

both_backends!(user_details_and_role_changes, |app| {
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    app.generation(
        "j1",
        alice.id,
        None,
        "mock",
        today(),
        GenerationOutcome::Ok,
        None,
        (3, 4),
    )
    .await;
    let detail = app
        .get(&format!("/api/v1/admin/users/{}", alice.id), &root.token)
        .await
        .expect(200);
    assert_eq!(detail["username"], "alice");
    assert_eq!(detail["this_month"]["total_tokens"], 7);
    assert_eq!(detail["all_time"]["replies"], 1);
    assert_eq!(detail["conversations"], 0);
    app.get("/api/v1/admin/users/999999", &root.token)
        .await
        .expect(404);
    app.get("/api/v1/admin/users/alice", &root.token)
        .await
        .expect(404);

    let path = format!("/api/v1/admin/users/{}", alice.id);
    let promoted = app
        .patch(&path, &root.token, json!({"role": "admin"}))
        .await
        .expect(200);
    assert_eq!(promoted["role"], "admin");
    let old_admin_token = app.session(alice.id, "alice", Role::Admin).token;
    app.get("/api/v1/admin/realtime", &old_admin_token)
        .await
        .expect(200);
    let demoted = app
        .patch(&path, &root.token, json!({"role": "user"}))
        .await
        .expect(200);
    assert_eq!(demoted["role"], "user");
    app.get("/api/v1/admin/realtime", &old_admin_token)
        .await
        .expect(401);

    for bad in [
        json!({}),
        json!({"role": "owner"}),
        json!({"is_active": "no"}),
        json!({"email": "x@y.z"}),
    ] {
        app.patch(&path, &root.token, bad).await.expect(422);
    }
    let r = app
        .request(reqwest::Method::PATCH, &path, Some(&root.token), None)
        .await;
    assert_eq!(r.status, 400, "an empty body is malformed JSON: {}", r.text);
    app.patch(
        "/api/v1/admin/users/999999",
        &root.token,
        json!({"is_active": false}),
    )
    .await
    .expect(404);

    // An admin cannot lock themself out.
    let me = format!("/api/v1/admin/users/{}", root.id);
    for body in [json!({"is_active": false}), json!({"role": "user"})] {
        let refused = app.patch(&me, &root.token, body).await.expect(403);
        assert!(refused["detail"].as_str().unwrap().contains("themselves"));
    }
    app.patch(
        &me,
        &root.token,
        json!({"is_active": true, "role": "admin"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/admin/realtime", &root.token)
        .await
        .expect(200);
});

both_backends!(deactivation_kills_tokens_and_sockets_at_once, |app| {
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (alice_id, bob_id) = (alice.id, bob.id);
    db::run(&app.db, move |c| {
        for (user, hash) in [(alice_id, "h1"), (alice_id, "h2"), (bob_id, "h3")] {
            db::refresh_tokens::insert(
                c,
                db::refresh_tokens::NewRefreshTokenRow {
                    user_id: user,
                    token_hash: hash.into(),
                    family_id: format!("f-{hash}"),
                    expires_at: db::now() + chrono::Duration::days(30),
                },
            )?;
        }
        Ok(())
    })
    .await
    .unwrap();
    // Her token authenticates (403: not an admin) …
    app.get("/api/v1/admin/realtime", &alice.token)
        .await
        .expect(403);
    // … and a gateway would be listening on her user channel.
    let (sub, mut events) = app.bus.subscriber().await.unwrap().into_parts();
    sub.subscribe_user(alice.id).await.unwrap();

    let off = app
        .patch(
            &format!("/api/v1/admin/users/{}", alice.id),
            &root.token,
            json!({"is_active": false}),
        )
        .await
        .expect(200);
    assert_eq!(off["is_active"], false);

    let refused = app
        .get("/api/v1/admin/realtime", &alice.token)
        .await
        .expect(401);
    assert_eq!(refused["detail"], "session revoked");
    let revoked = app.bus.user_tokens_revoked_before(alice.id).await.unwrap();
    assert!(revoked.is_some());
    let closing = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match events.recv().await {
                Some(SubscriberEvent::User { user_id, payload }) => break (user_id, payload),
                Some(_) => continue,
                None => panic!("subscriber closed"),
            }
        }
    })
    .await
    .expect("session.revoked published");
    assert_eq!(closing.0, alice.id);
    assert_eq!(
        serde_json::from_str::<UserEvent>(&closing.1).unwrap(),
        UserEvent::SessionRevoked
    );
    let tokens = db::run(&app.db, move |c| {
        Ok((
            db::refresh_tokens::find_by_hash(c, "h1")?.unwrap(),
            db::refresh_tokens::find_by_hash(c, "h2")?.unwrap(),
            db::refresh_tokens::find_by_hash(c, "h3")?.unwrap(),
        ))
    })
    .await
    .unwrap();
    assert!(tokens.0.revoked_at.is_some() && tokens.1.revoked_at.is_some());
    assert!(
        tokens.2.revoked_at.is_none(),
        "other users keep their sessions"
    );
    app.get("/api/v1/admin/realtime", &bob.token)
        .await
        .expect(403);

    let page = app
        .get("/api/v1/admin/users?is_active=false", &root.token)
        .await
        .expect(200);
    assert_eq!(names(&page), ["alice"]);
    let on = app
        .patch(
            &format!("/api/v1/admin/users/{}", alice.id),
            &root.token,
            json!({"is_active": true}),
        )
        .await
        .expect(200);
    assert_eq!(on["is_active"], true);
    assert_eq!(
        app.get("/api/v1/admin/realtime", &alice.token)
            .await
            .expect(401)["detail"],
        "session revoked",
        "reactivation does not bring old tokens back"
    );
});
