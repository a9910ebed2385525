//! AI conversations: create with greeting, list with preview and unread counts, rename, delete.

use reqwest::Method;
use serde_json::{json, Value};

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

both_backends!(pin_and_archive_arrange_only_the_callers_own_list, |app| {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let mallory = app.register("mallory").await;
    let luna = app.character(&alice, "Luna", true).await;
    let mut chats = Vec::new();
    for _ in 0..3 {
        chats.push(app.ai_chat(&alice, luna).await);
    }
    let [oldest, middle, newest] = [chats[0], chats[1], chats[2]];
    let ids = |page: Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let list = "/api/v1/conversations";
    assert_eq!(
        ids(app.get(list, &alice.token).await.expect(200)),
        [newest, middle, oldest]
    );

    // Pinned ones lead; the view says so, in the list and on its own.
    let state = app
        .put(&format!("{list}/{oldest}/pin"), &alice.token, json!({}))
        .await
        .expect(200);
    assert_eq!(state, json!({"pinned": true, "archived": false}));
    let page = app.get(list, &alice.token).await.expect(200);
    assert_eq!(ids(page.clone()), [oldest, newest, middle]);
    assert_eq!(page["items"][0]["pinned"], true);
    assert_eq!(page["items"][1]["pinned"], false);
    let one = app
        .get(&format!("{list}/{oldest}"), &alice.token)
        .await
        .expect(200);
    assert_eq!(
        (one["pinned"].clone(), one["archived"].clone()),
        (json!(true), json!(false))
    );

    // Archived ones leave the main list for the archive (and lose their pin).
    let state = app
        .put(&format!("{list}/{oldest}/archive"), &alice.token, json!({}))
        .await
        .expect(200);
    assert_eq!(state, json!({"pinned": false, "archived": true}));
    assert_eq!(
        ids(app.get(list, &alice.token).await.expect(200)),
        [newest, middle]
    );
    let archived = app
        .get(&format!("{list}?archived=true"), &alice.token)
        .await
        .expect(200);
    assert_eq!(ids(archived.clone()), [oldest]);
    assert_eq!(archived["items"][0]["archived"], true);
    app.delete(&format!("{list}/{oldest}/archive"), &alice.token)
        .await
        .expect(200);
    assert_eq!(
        ids(app.get(list, &alice.token).await.expect(200)),
        [newest, middle, oldest]
    );
    app.get(&format!("{list}?archived=maybe"), &alice.token)
        .await
        .expect(422);

    // A stranger can neither arrange nor learn about the conversation; bob's list is his.
    for method in ["put", "delete"] {
        for what in ["pin", "archive"] {
            let path = format!("{list}/{middle}/{what}");
            let reply = if method == "put" {
                app.put(&path, &mallory.token, json!({})).await
            } else {
                app.delete(&path, &mallory.token).await
            };
            reply.expect(404);
        }
    }
    app.put(&format!("{list}/{middle}/pin"), &bob.token, json!({}))
        .await
        .expect(404);
    assert_eq!(
        ids(app.get(list, &alice.token).await.expect(200)),
        [newest, middle, oldest],
        "refused attempts changed nothing"
    );

    // At most ten pins; re-pinning a pinned one is fine, an eleventh is refused.
    let mut more = Vec::new();
    for _ in 0..8 {
        more.push(app.ai_chat(&alice, luna).await);
    }
    for id in chats.iter().chain(&more).take(10) {
        app.put(&format!("{list}/{id}/pin"), &alice.token, json!({}))
            .await
            .expect(200);
    }
    app.put(&format!("{list}/{oldest}/pin"), &alice.token, json!({}))
        .await
        .expect(200);
    let refused = app
        .put(&format!("{list}/{}/pin", more[7]), &alice.token, json!({}))
        .await
        .expect(409);
    assert_eq!(refused["code"], "conflict");
    app.delete(&format!("{list}/{}/pin", more[0]), &alice.token)
        .await
        .expect(200);
    app.put(&format!("{list}/{}/pin", more[7]), &alice.token, json!({}))
        .await
        .expect(200);

    // A channel is arranged in its server's channel list instead.
    let server = app
        .post("/api/v1/servers", &alice.token, json!({"name": "Guild"}))
        .await
        .expect(201);
    let general = server["channels"][0]["id"].as_i64().unwrap();
    app.put(&format!("{list}/{general}/pin"), &alice.token, json!({}))
        .await
        .expect(422);
});
