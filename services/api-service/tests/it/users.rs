//! Profiles.

use reqwest::Method;
use serde_json::json;

use testkit::both_backends;

both_backends!(profile_can_be_read_and_updated_with_validation, |app| {
    let a = app.register("alice").await;
    let updated = app
        .patch("/api/v1/users/me", &a.token, json!({"display_name": "Alice A.", "bio": "hi", "avatar_url": "https://cdn.example.com/a.png"}))
        .await
        .expect(200);
    assert_eq!(updated["display_name"], "Alice A.");
    assert_eq!(updated["avatar_url"], "https://cdn.example.com/a.png");
    let cleared = app
        .patch("/api/v1/users/me", &a.token, json!({"avatar_url": null}))
        .await
        .expect(200);
    assert!(cleared["avatar_url"].is_null());
    assert_eq!(cleared["bio"], "hi", "absent fields are left alone");

    for bad in [
        json!({"display_name": ""}),
        json!({"display_name": "x".repeat(65)}),
        json!({"bio": "b".repeat(501)}),
        json!({"avatar_url": "javascript:alert(1)"}),
        json!({"role": "admin"}),
        json!({"display_name": 7}),
    ] {
        let r = app.patch("/api/v1/users/me", &a.token, bad.clone()).await;
        assert_eq!(r.status, 422, "{bad} → {}", r.body);
    }
    let me = app.get("/api/v1/users/me", &a.token).await.expect(200);
    assert_eq!(me["display_name"], "Alice A.");
    assert_eq!(me["role"], "user");
});

both_backends!(public_profile_hides_email_and_needs_a_token, |app| {
    let a = app.register("alice").await;
    let b = app.register("bob").await;
    let seen = app
        .get(&format!("/api/v1/users/{}", a.id), &b.token)
        .await
        .expect(200);
    assert_eq!(seen["username"], "alice");
    assert!(seen.get("email").is_none());
    app.request(Method::GET, &format!("/api/v1/users/{}", a.id), None, None)
        .await
        .expect(401);
    app.get("/api/v1/users/999999", &b.token).await.expect(404);
    app.get("/api/v1/users/not-a-number", &b.token)
        .await
        .expect(404);
    app.request(
        Method::PATCH,
        "/api/v1/users/me",
        None,
        Some(json!({"bio": "x"})),
    )
    .await
    .expect(401);
});
