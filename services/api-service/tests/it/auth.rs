//! Accounts: register, login (JSON and form), refresh rotation and reuse, logout, token checks.

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;
use testkit::both_backends;

both_backends!(register_returns_tokens_and_refuses_duplicates, |app| {
    let alice = app.register("alice").await;
    let me = app.get("/api/v1/auth/me", &alice.token).await.expect(200);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert!(me.get("password_hash").is_none());

    let dup_name =
        json!({"username": "alice", "email": "other@example.com", "password": "passw0rd-long"});
    let body = app
        .request(Method::POST, "/api/v1/auth/register", None, Some(dup_name))
        .await
        .expect(409);
    assert!(body["detail"].as_str().unwrap().contains("username"));
    let dup_email =
        json!({"username": "alice2", "email": "ALICE@example.com", "password": "passw0rd-long"});
    app.request(Method::POST, "/api/v1/auth/register", None, Some(dup_email))
        .await
        .expect(409);
});

both_backends!(register_validates_every_field, |app| {
    let cases = [
        json!({"username": "ab", "email": "a@example.com", "password": "passw0rd-long"}),
        json!({"username": "good_name", "email": "not-an-email", "password": "passw0rd-long"}),
        json!({"username": "good_name", "email": "a@example.com", "password": "short1"}),
        json!({"username": "good_name", "email": "a@example.com", "password": "nodigitsatall"}),
        json!({"username": "x".repeat(33), "email": "a@example.com", "password": "passw0rd-long"}),
        json!({"username": "", "email": "", "password": ""}),
        json!({"username": 5, "email": "a@example.com", "password": "passw0rd-long"}),
        json!({"email": "a@example.com", "password": "passw0rd-long"}),
        json!({"username": "good_name", "email": "a@example.com", "password": "passw0rd-long", "role": "admin"}),
    ];
    for case in cases {
        let reply = app
            .request(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(case.clone()),
            )
            .await;
        assert_eq!(reply.status, 422, "{case} → {}", reply.body);
        assert_eq!(reply.body["code"], "validation");
    }
    // Nothing was stored: the name is still free.
    app.register("good_name").await;
});

both_backends!(malformed_bodies_get_4xx_json_never_500, |app| {
    let path = "/api/v1/auth/register";
    let r = app
        .raw(
            Method::POST,
            path,
            None,
            "application/json",
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], "bad_request");
    let r = app
        .raw(
            Method::POST,
            path,
            None,
            "application/json",
            vec![0xff, 0xfe, 0x7b],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = app
        .raw(Method::POST, path, None, "text/plain", b"hello".to_vec())
        .await;
    assert_eq!(r.status, 415, "{}", r.body);
    let huge = format!("{{\"username\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let r = app
        .raw(
            Method::POST,
            path,
            None,
            "application/json",
            huge.into_bytes(),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.body["code"], "payload_too_large");
});

both_backends!(login_accepts_json_form_username_or_email, |app| {
    app.register("bob").await;
    let json_login = json!({"username": "bob", "password": "passw0rd-long"});
    let body = app
        .request(Method::POST, "/api/v1/auth/login", None, Some(json_login))
        .await
        .expect(200);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    let by_email = json!({"username": "BOB@example.com", "password": "passw0rd-long"});
    app.request(Method::POST, "/api/v1/auth/login", None, Some(by_email))
        .await
        .expect(200);
    let form = app
        .raw(
            Method::POST,
            "/api/v1/auth/login",
            None,
            "application/x-www-form-urlencoded",
            b"username=bob&password=passw0rd-long".to_vec(),
        )
        .await
        .expect(200);
    let me = app
        .get("/api/v1/auth/me", form["access_token"].as_str().unwrap())
        .await
        .expect(200);
    assert_eq!(me["username"], "bob");
});

both_backends!(wrong_credentials_are_401_alike_for_unknown_users, |app| {
    app.register("carol").await;
    let wrong = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "carol", "password": "wrong-passw0rd"})),
        )
        .await
        .expect(401);
    let unknown = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "nobody", "password": "wrong-passw0rd"})),
        )
        .await
        .expect(401);
    assert_eq!(
        wrong["detail"], unknown["detail"],
        "same answer whether or not the account exists"
    );
});

both_backends!(deactivated_accounts_cannot_log_in, |app| {
    let dave = app.register("dave").await;
    let id = domain::UserId(dave.id);
    db::run(&app.state.db, move |c| db::users::set_active(c, id, false))
        .await
        .unwrap();
    app.request(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "dave", "password": "passw0rd-long"})),
    )
    .await
    .expect(403);
});

both_backends!(refresh_rotates_and_reuse_revokes_the_family, |app| {
    let erin = app.register("erin").await;
    let first = app
        .request(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": erin.refresh})),
        )
        .await
        .expect(200);
    let second_refresh = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, erin.refresh);
    // Replaying the first refresh token is theft: the whole family dies, including the new one.
    app.request(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": erin.refresh})),
    )
    .await
    .expect(401);
    app.request(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": second_refresh})),
    )
    .await
    .expect(401);
    app.request(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": "garbage"})),
    )
    .await
    .expect(401);
});

both_backends!(logout_revokes_access_and_refresh_tokens, |app| {
    let frank = app.register("frank").await;
    app.post(
        "/api/v1/auth/logout",
        &frank.token,
        json!({"refresh_token": frank.refresh}),
    )
    .await
    .expect(204);
    app.get("/api/v1/auth/me", &frank.token).await.expect(401);
    app.request(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": frank.refresh})),
    )
    .await
    .expect(401);
    // Logging out needs a token; a stranger without one is refused.
    app.request(Method::POST, "/api/v1/auth/logout", None, None)
        .await
        .expect(401);
});

both_backends!(expired_forged_and_unsigned_tokens_are_refused, |app| {
    let gina = app.register("gina").await;
    let keys = &app.state.jwt;
    let expired = keys
        .issue_with_ttl(domain::UserId(gina.id), "gina", domain::Role::User, -120)
        .unwrap();
    app.get("/api/v1/auth/me", &expired.token).await.expect(401);

    let mut other = app.env.settings.auth.clone();
    other.jwt_secret = "someone-elses-secret-someone-elses-secret".into();
    let forged = platform::JwtKeys::new(&other)
        .issue(domain::UserId(gina.id), "gina", domain::Role::Admin)
        .unwrap();
    app.get("/api/v1/auth/me", &forged.token).await.expect(401);

    let payload = gina.token.split('.').nth(1).unwrap();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    app.get("/api/v1/auth/me", &unsigned).await.expect(401);
    app.request(Method::GET, "/api/v1/auth/me", None, None)
        .await
        .expect(401);
});

#[tokio::test]
async fn login_is_rate_limited_per_account_with_retry_after() {
    let app = TestApp::spawn_with(testkit::services::Backend::Sqlite, |s| {
        s.rate_limit.login_per_minute = 3
    })
    .await;
    app.register("henry").await;
    let wrong = json!({"username": "henry", "password": "wrong-passw0rd"});
    for _ in 0..3 {
        app.request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(wrong.clone()),
        )
        .await
        .expect(401);
    }
    let limited = app
        .request(Method::POST, "/api/v1/auth/login", None, Some(wrong))
        .await;
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(limited.expect(429)["code"], "rate_limited");
}

#[tokio::test]
async fn register_is_rate_limited_per_ip() {
    let app = TestApp::spawn_with(testkit::services::Backend::Sqlite, |s| {
        s.rate_limit.register_per_hour = 2
    })
    .await;
    app.register("ivan1").await;
    app.register("ivan2").await;
    let third =
        json!({"username": "ivan3", "email": "ivan3@example.com", "password": "passw0rd-long"});
    app.request(Method::POST, "/api/v1/auth/register", None, Some(third))
        .await
        .expect(429);
}

async fn refresh(app: &TestApp, token: &str) -> crate::helpers::Reply {
    app.request(
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refresh_token": token})),
    )
    .await
}

// Issue 13, hole 5: logout revoked only the one access token it was called with; the other
// access tokens of the same session kept working.
both_backends!(logout_ends_the_whole_session_and_only_it, |app| {
    let ann = app.register("ann").await;
    // A second token of the first session (a refresh), and a second session (another device).
    let renewed = refresh(&app, &ann.refresh).await.expect(200);
    let same_session = renewed["access_token"].as_str().unwrap().to_owned();
    let other_device = app.login("ann").await.token;
    for token in [&ann.token, &same_session, &other_device] {
        app.get("/api/v1/auth/me", token).await.expect(200);
    }
    app.post("/api/v1/auth/logout", &ann.token, json!({}))
        .await
        .expect(204);
    for token in [&ann.token, &same_session] {
        let refused = app.get("/api/v1/auth/me", token).await.expect(401);
        assert_eq!(refused["code"], "unauthorized");
    }
    let next = renewed["refresh_token"].as_str().unwrap();
    refresh(&app, next).await.expect(401);
    app.get("/api/v1/auth/me", &other_device).await.expect(200);
});

// Hole 5: reuse of a refresh token revoked the family's refresh tokens, but the access tokens
// already issued in that family stayed valid.
both_backends!(
    refresh_token_reuse_revokes_the_sessions_access_tokens,
    |app| {
        let bo = app.register("boris").await;
        let renewed = refresh(&app, &bo.refresh).await.expect(200);
        let access = renewed["access_token"].as_str().unwrap().to_owned();
        app.get("/api/v1/auth/me", &access).await.expect(200);
        // The old refresh token comes back: stolen or replayed.
        refresh(&app, &bo.refresh).await.expect(401);
        app.get("/api/v1/auth/me", &access).await.expect(401);
        app.get("/api/v1/auth/me", &bo.token).await.expect(401);
    }
);

// Issue 13, hole 10: usernames differing only in case both registered; logins match any case.
both_backends!(usernames_are_one_name_in_any_case, |app| {
    let alice = app.register("alice").await;
    let clash = app
        .request(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(json!({"username": "ALICE", "email": "other@example.com", "password": "passw0rd-long"})),
        )
        .await
        .expect(409);
    assert_eq!(clash["detail"], "username is already taken");
    let token = app.login("Alice").await.token;
    let me = app.get("/api/v1/auth/me", &token).await.expect(200);
    assert_eq!(me["id"], alice.id);
});

// Hole 10: a JSON array where an object is required filled the struct by position (200).
both_backends!(json_arrays_are_refused_where_an_object_is_required, |app| {
    let alice = app.register("alice").await;
    let refused = app
        .patch("/api/v1/users/me", &alice.token, json!(["x", "y", null]))
        .await
        .expect(422);
    assert_eq!(refused["code"], "validation");
    let me = app.get("/api/v1/users/me", &alice.token).await.expect(200);
    assert_ne!(me["display_name"], "x");
    app.request(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(json!(["alice", "passw0rd-long"])),
    )
    .await
    .expect(422);
    app.post("/api/v1/auth/logout", &alice.token, json!([]))
        .await
        .expect(422);
});
