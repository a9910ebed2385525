//! Common prompts: admins manage, everyone reads the enabled ones.

use serde_json::json;

use testkit::both_backends;

both_backends!(only_admins_manage_prompts, |app| {
    let user = app.register("user").await;
    let admin = app.admin("root").await;
    app.post(
        "/api/v1/prompts",
        &user.token,
        json!({"name": "n", "content": "c"}),
    )
    .await
    .expect(403);

    let a = app
        .post(
            "/api/v1/prompts",
            &admin.token,
            json!({"name": "Safety", "content": "Be kind."}),
        )
        .await
        .expect(201);
    let b = app
        .post(
            "/api/v1/prompts",
            &admin.token,
            json!({"name": "Style", "content": "Be brief.", "is_enabled": false}),
        )
        .await
        .expect(201);
    let (a, b) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());

    app.patch(
        &format!("/api/v1/prompts/{a}"),
        &user.token,
        json!({"content": "x"}),
    )
    .await
    .expect(403);
    app.delete(&format!("/api/v1/prompts/{a}"), &user.token)
        .await
        .expect(403);
    app.put("/api/v1/prompts/order", &user.token, json!({"ids": [b, a]}))
        .await
        .expect(403);

    let seen = app.get("/api/v1/prompts", &user.token).await.expect(200);
    assert_eq!(
        seen.as_array().unwrap().len(),
        1,
        "users see enabled prompts only"
    );
    let all = app.get("/api/v1/prompts", &admin.token).await.expect(200);
    assert_eq!(all.as_array().unwrap().len(), 2);

    let ordered = app
        .put(
            "/api/v1/prompts/order",
            &admin.token,
            json!({"ids": [b, a]}),
        )
        .await
        .expect(200);
    assert_eq!(ordered[0]["id"], b);
    assert_eq!(ordered[1]["id"], a);
    app.put(
        "/api/v1/prompts/order",
        &admin.token,
        json!({"ids": [999_999]}),
    )
    .await
    .expect(422);

    let enabled = app
        .patch(
            &format!("/api/v1/prompts/{b}"),
            &admin.token,
            json!({"is_enabled": true}),
        )
        .await
        .expect(200);
    assert_eq!(enabled["is_enabled"], true);
    app.patch(
        &format!("/api/v1/prompts/{b}"),
        &admin.token,
        json!({"content": ""}),
    )
    .await
    .expect(422);
    app.delete(&format!("/api/v1/prompts/{a}"), &admin.token)
        .await
        .expect(204);
    app.delete(&format!("/api/v1/prompts/{a}"), &admin.token)
        .await
        .expect(404);
    app.post(
        "/api/v1/prompts",
        &admin.token,
        json!({"name": "", "content": "c"}),
    )
    .await
    .expect(422);
});
