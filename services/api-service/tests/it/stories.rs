//! Stories through the job pipeline.

use serde_json::json;

use testkit::both_backends;

both_backends!(stories_are_queued_listed_and_private, |app| {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let luna = app.character(&alice, "Luna", false).await;
    let story = app
        .post(
            "/api/v1/stories",
            &alice.token,
            json!({"prompt": "A moonlit adventure", "character_ids": [luna]}),
        )
        .await
        .expect(202);
    // Queued; it becomes `streaming` when a worker starts it (no worker runs here).
    assert_eq!(story["status"], "pending", "{story}");
    let id = story["id"].as_i64().unwrap();
    assert_eq!(story["job_id"], format!("story-{id}"));
    assert_eq!(app.state.bus.stream_len("llm.jobs").await.unwrap(), 1);

    let list = app.get("/api/v1/stories", &alice.token).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    app.get(&format!("/api/v1/stories/{id}"), &alice.token)
        .await
        .expect(200);
    app.get(&format!("/api/v1/stories/{id}"), &bob.token)
        .await
        .expect(404);
    assert!(
        app.get("/api/v1/stories", &bob.token).await.expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    app.post(
        "/api/v1/stories",
        &bob.token,
        json!({"prompt": "uses alice's private character", "character_ids": [luna]}),
    )
    .await
    .expect(422);
    app.post("/api/v1/stories", &alice.token, json!({"prompt": ""}))
        .await
        .expect(422);
    app.post(
        "/api/v1/stories",
        &alice.token,
        json!({"prompt": "p", "character_ids": [1,2,3,4,5,6,7,8,9]}),
    )
    .await
    .expect(422);
});
