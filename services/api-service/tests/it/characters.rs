//! Characters: CRUD, visibility rules, search, Character Card V2 import/export.

use reqwest::Method;
use serde_json::{json, Value};

use testkit::both_backends;

fn card() -> Value {
    json!({
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": "Seraphina",
            "description": "Guardian of the glade.",
            "personality": "kind",
            "scenario": "{{user}} wakes up.",
            "first_mes": "You're awake, {{user}}!",
            "mes_example": "<START>\n{{user}}: hi\n{{char}}: hello",
            "creator_notes": "notes",
            "system_prompt": "You are {{char}}.",
            "post_history_instructions": "Stay in character.",
            "alternate_greetings": ["Oh, hello."],
            "tags": ["Fantasy", "guardian"],
            "creator": "someone",
            "character_version": "3.1",
            "character_book": {"entries": [{"keys": ["glade"], "content": "A clearing.", "extensions": {}}]},
            "extensions": {"talkativeness": "0.6", "depth_prompt": {"depth": 4, "prompt": "x"}}
        }
    })
}

both_backends!(owner_creates_updates_and_deletes_a_character, |app| {
    let owner = app.register("owner").await;
    let created = app
        .post("/api/v1/characters", &owner.token, json!({"name": "Luna", "greeting": "Hi!", "tags": ["Moon", "moon"], "extensions": {"a": 1}}))
        .await
        .expect(201);
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["visibility"], "private");
    assert_eq!(
        created["tags"],
        json!(["moon"]),
        "tags are lower-cased and de-duplicated"
    );
    assert_eq!(created["extensions"], json!({"a": 1}));

    let updated = app
        .patch(&format!("/api/v1/characters/{id}"), &owner.token, json!({"personality": "dreamy", "model_preference": "mock/echo", "visibility": "public"}))
        .await
        .expect(200);
    assert_eq!(updated["personality"], "dreamy");
    assert_eq!(updated["greeting"], "Hi!");
    assert_eq!(updated["visibility"], "public");
    app.delete(&format!("/api/v1/characters/{id}"), &owner.token)
        .await
        .expect(204);
    app.get(&format!("/api/v1/characters/{id}"), &owner.token)
        .await
        .expect(404);
});

both_backends!(
    strangers_get_404_for_private_and_403_for_changing_public,
    |app| {
        let owner = app.register("owner").await;
        let stranger = app.register("stranger").await;
        let private = app.character(&owner, "Secret", false).await;
        let public = app.character(&owner, "Shared", true).await;

        app.get(&format!("/api/v1/characters/{private}"), &stranger.token)
            .await
            .expect(404);
        app.patch(
            &format!("/api/v1/characters/{private}"),
            &stranger.token,
            json!({"name": "x"}),
        )
        .await
        .expect(404);
        app.delete(&format!("/api/v1/characters/{private}"), &stranger.token)
            .await
            .expect(404);
        app.get(
            &format!("/api/v1/characters/{private}/export"),
            &stranger.token,
        )
        .await
        .expect(404);

        app.get(&format!("/api/v1/characters/{public}"), &stranger.token)
            .await
            .expect(200);
        app.patch(
            &format!("/api/v1/characters/{public}"),
            &stranger.token,
            json!({"name": "Hijacked"}),
        )
        .await
        .expect(403);
        app.delete(&format!("/api/v1/characters/{public}"), &stranger.token)
            .await
            .expect(403);
        let still = app
            .get(&format!("/api/v1/characters/{public}"), &owner.token)
            .await
            .expect(200);
        assert_eq!(still["name"], "Shared");

        let admin = app.admin("root").await;
        app.patch(
            &format!("/api/v1/characters/{private}"),
            &admin.token,
            json!({"name": "Moderated"}),
        )
        .await
        .expect(200);
        app.request(
            Method::GET,
            &format!("/api/v1/characters/{public}"),
            None,
            None,
        )
        .await
        .expect(401);
    }
);

both_backends!(list_shows_mine_and_public_with_search_and_tags, |app| {
    let a = app.register("alice").await;
    let b = app.register("bob").await;
    app.post(
        "/api/v1/characters",
        &a.token,
        json!({"name": "Knight Arthur", "tags": ["medieval"]}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/characters",
        &a.token,
        json!({"name": "Private Pat"}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/characters",
        &b.token,
        json!({"name": "Bob's Public", "visibility": "public", "tags": ["medieval"]}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/characters",
        &b.token,
        json!({"name": "Bob's Secret"}),
    )
    .await
    .expect(201);

    let names = |v: &Value| -> Vec<String> {
        let mut n: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    let all = app.get("/api/v1/characters", &a.token).await.expect(200);
    assert_eq!(
        names(&all),
        vec!["Bob's Public", "Knight Arthur", "Private Pat"]
    );
    let search = app
        .get("/api/v1/characters?search=knight", &a.token)
        .await
        .expect(200);
    assert_eq!(names(&search), vec!["Knight Arthur"]);
    let tagged = app
        .get("/api/v1/characters?tag=medieval", &a.token)
        .await
        .expect(200);
    assert_eq!(names(&tagged), vec!["Bob's Public", "Knight Arthur"]);
    let mine = app
        .get("/api/v1/characters?mine=true", &a.token)
        .await
        .expect(200);
    assert_eq!(names(&mine), vec!["Knight Arthur", "Private Pat"]);
    let page = app
        .get("/api/v1/characters?limit=1&offset=1", &a.token)
        .await
        .expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    app.get("/api/v1/characters?limit=0", &a.token)
        .await
        .expect(422);
    app.get("/api/v1/characters?limit=abc", &a.token)
        .await
        .expect(422);
    app.get("/api/v1/characters?offset=-1", &a.token)
        .await
        .expect(422);
});

both_backends!(character_input_is_validated, |app| {
    let a = app.register("alice").await;
    for bad in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "n".repeat(65)}),
        json!({"name": "A", "description": "d".repeat(20_001)}),
        json!({"name": "A", "tags": vec!["t"; 33]}),
        json!({"name": "A", "tags": [""]}),
        json!({"name": "A", "avatar_url": "ftp://x"}),
        json!({"name": "A", "visibility": "friends"}),
        json!({"name": "A", "model_preference": "gpt4"}),
        json!({"name": "A", "extensions": [1, 2]}),
        json!({"name": "A", "unknown_field": true}),
    ] {
        let r = app.post("/api/v1/characters", &a.token, bad.clone()).await;
        assert_eq!(r.status, 422, "{bad} → {}", r.body);
    }
    let list = app
        .get("/api/v1/characters?mine=true", &a.token)
        .await
        .expect(200);
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing stored"
    );
});

both_backends!(card_v2_json_import_then_export_is_lossless, |app| {
    let a = app.register("alice").await;
    let imported = app
        .post("/api/v1/characters/import", &a.token, card())
        .await
        .expect(201);
    assert_eq!(imported["name"], "Seraphina");
    assert_eq!(imported["greeting"], "You're awake, {{user}}!");
    let id = imported["id"].as_i64().unwrap();
    let exported = app
        .get(&format!("/api/v1/characters/{id}/export"), &a.token)
        .await
        .expect(200);
    assert_eq!(exported, card());
});

both_backends!(card_v2_png_import_and_export, |app| {
    let a = app.register("alice").await;
    let png = api_service::cards::embed_in_png(None, &card()).unwrap();
    let imported = app
        .raw(
            Method::POST,
            "/api/v1/characters/import?visibility=public",
            Some(&a.token),
            "image/png",
            png,
        )
        .await
        .expect(201);
    assert_eq!(imported["visibility"], "public");
    let id = imported["id"].as_i64().unwrap();
    let resp = app
        .http
        .get(app.url(&format!("/api/v1/characters/{id}/export?format=png")))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    let bytes = resp.bytes().await.unwrap();
    let back: Value =
        serde_json::from_slice(&api_service::cards::extract_from_png(&bytes).unwrap()).unwrap();
    assert_eq!(back, card());

    app.raw(
        Method::POST,
        "/api/v1/characters/import",
        Some(&a.token),
        "image/png",
        b"not a png".to_vec(),
    )
    .await
    .expect(422);
    app.raw(
        Method::POST,
        "/api/v1/characters/import",
        Some(&a.token),
        "text/plain",
        b"x".to_vec(),
    )
    .await
    .expect(415);
    app.post(
        "/api/v1/characters/import",
        &a.token,
        json!({"spec": "chara_card_v2", "data": {"name": ""}}),
    )
    .await
    .expect(422);
    app.get(
        &format!("/api/v1/characters/{id}/export?format=gif"),
        &a.token,
    )
    .await
    .expect(422);
});

// Issue 13, hole 12: `mine=true` filtered a page after paging, so with many public characters
// newer than one's own the first page came back short or empty.
both_backends!(mine_pages_are_full_pages_of_my_characters, |app| {
    let me = app.register("maker").await;
    let other = app.register("other").await;
    let mut my_ids = Vec::new();
    for i in 0..3 {
        my_ids.push(app.character(&me, &format!("Mine {i}"), false).await);
    }
    for i in 0..5 {
        app.character(&other, &format!("Public {i}"), true).await;
    }
    let page = app
        .get("/api/v1/characters?mine=true&limit=2", &me.token)
        .await
        .expect(200);
    let ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [my_ids[2], my_ids[1]],
        "a full first page, newest first"
    );
    let next = app
        .get("/api/v1/characters?mine=true&limit=2&offset=2", &me.token)
        .await
        .expect(200);
    assert_eq!(next["items"][0]["id"], my_ids[0]);
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
});
