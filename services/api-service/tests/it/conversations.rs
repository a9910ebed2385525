//! AI conversations: create with greeting, list with preview and unread counts, rename, delete.

use reqwest::Method;
use serde_json::json;

use testkit::both_backends;

both_backends!(ai_chat_starts_with_the_characters_greeting, |app| {
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app
        .post(
            "/api/v1/conversations",
            &alice.token,
            json!({"kind": "ai_chat", "character_id": luna}),
        )
        .await
        .expect(201);
    assert_eq!(conv["kind"], "ai_chat");
    assert_eq!(conv["title"], "Luna");
    assert_eq!(conv["role"], "owner");
    let id = conv["id"].as_i64().unwrap();
    let history = app
        .get(
            &format!("/api/v1/conversations/{id}/messages"),
            &alice.token,
        )
        .await
        .expect(200);
    let first = &history["items"][0];
    assert_eq!(first["role"], "assistant");
    assert_eq!(
        first["content"], "Hello alice, I am Luna.",
        "{{user}} and {{char}} are substituted"
    );
    assert_eq!(first["character_id"], luna);
});

both_backends!(
    public_characters_can_be_chatted_with_private_ones_cannot,
    |app| {
        let owner = app.register("owner").await;
        let other = app.register("other").await;
        let public = app.character(&owner, "Pub", true).await;
        let private = app.character(&owner, "Priv", false).await;
        app.post(
            "/api/v1/conversations",
            &other.token,
            json!({"kind": "ai_chat", "character_id": public}),
        )
        .await
        .expect(201);
        app.post(
            "/api/v1/conversations",
            &other.token,
            json!({"kind": "ai_chat", "character_id": private}),
        )
        .await
        .expect(422);
        app.post(
            "/api/v1/conversations",
            &other.token,
            json!({"kind": "ai_chat"}),
        )
        .await
        .expect(422);
        app.post(
            "/api/v1/conversations",
            &other.token,
            json!({"kind": "ai_chat", "character_id": "x"}),
        )
        .await
        .expect(422);
        app.post(
            "/api/v1/conversations",
            &other.token,
            json!({"kind": "party", "character_id": public}),
        )
        .await
        .expect(422);
        app.post(
            "/api/v1/conversations",
            &other.token,
            json!({"kind": "channel"}),
        )
        .await
        .expect(422);
    }
);

both_backends!(
    list_is_most_recent_first_with_last_message_and_unread,
    |app| {
        let alice = app.register("alice").await;
        let c1 = app.character(&alice, "One", false).await;
        let c2 = app.character(&alice, "Two", false).await;
        let first = app.ai_chat(&alice, c1).await;
        let second = app.ai_chat(&alice, c2).await;
        app.post(
            &format!("/api/v1/conversations/{first}/messages"),
            &alice.token,
            json!({"content": "newest"}),
        )
        .await
        .expect(202);
        let list = app
            .get("/api/v1/conversations", &alice.token)
            .await
            .expect(200);
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0]["id"], first,
            "the conversation with the newest message comes first"
        );
        assert_eq!(items[0]["last_message"]["content"], "newest");
        assert_eq!(items[1]["id"], second);
        assert_eq!(items[1]["unread_count"], 1, "the greeting is unread");
        let greeting_id = app
            .get(
                &format!("/api/v1/conversations/{second}/messages"),
                &alice.token,
            )
            .await
            .expect(200)["items"][0]["id"]
            .clone();
        app.post(
            &format!("/api/v1/conversations/{second}/read"),
            &alice.token,
            json!({"message_id": greeting_id}),
        )
        .await
        .expect(204);
        let list = app
            .get("/api/v1/conversations", &alice.token)
            .await
            .expect(200);
        let second_view = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == second)
            .unwrap()
            .clone();
        assert_eq!(second_view["unread_count"], 0);
        app.post(
            &format!("/api/v1/conversations/{second}/read"),
            &alice.token,
            json!({"message_id": 999_999}),
        )
        .await
        .expect(422);
    }
);

both_backends!(
    rename_and_delete_are_the_owners_and_strangers_see_nothing,
    |app| {
        let alice = app.register("alice").await;
        let mallory = app.register("mallory").await;
        let luna = app.character(&alice, "Luna", false).await;
        let id = app.ai_chat(&alice, luna).await;
        let path = format!("/api/v1/conversations/{id}");

        app.get(&path, &mallory.token).await.expect(404);
        app.patch(&path, &mallory.token, json!({"title": "mine now"}))
            .await
            .expect(404);
        app.delete(&path, &mallory.token).await.expect(404);
        app.get(&format!("{path}/messages"), &mallory.token)
            .await
            .expect(404);
        app.post(
            &format!("{path}/messages"),
            &mallory.token,
            json!({"content": "hi"}),
        )
        .await
        .expect(404);
        app.post(
            &format!("{path}/read"),
            &mallory.token,
            json!({"message_id": 1}),
        )
        .await
        .expect(404);
        app.request(Method::GET, &path, None, None)
            .await
            .expect(401);

        let renamed = app
            .patch(&path, &alice.token, json!({"title": "Moon talk"}))
            .await
            .expect(200);
        assert_eq!(renamed["title"], "Moon talk");
        app.patch(&path, &alice.token, json!({"title": ""}))
            .await
            .expect(422);
        app.patch(&path, &alice.token, json!({"kind": "group"}))
            .await
            .expect(422);

        app.post(
            &format!("{path}/messages"),
            &alice.token,
            json!({"content": "bye"}),
        )
        .await
        .expect(202);
        app.delete(&path, &alice.token).await.expect(204);
        app.get(&path, &alice.token).await.expect(404);
        let conversation = domain::ConversationId(id);
        let left = db::run(&app.state.db, move |c| {
            db::messages::list_page(c, conversation, None, None, 10, None)
        })
        .await
        .unwrap();
        assert!(
            left.is_empty(),
            "messages are deleted with the conversation"
        );
        app.get("/api/v1/conversations/abc", &alice.token)
            .await
            .expect(404);
    }
);
