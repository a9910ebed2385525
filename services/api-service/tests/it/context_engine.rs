//! Personas, lorebooks, chat settings and the context report over REST (issue 16), on both
//! backends: the rules of `chat` as a client meets them, refusals with the problem body.

use serde_json::{json, Value};
use testkit::both_backends;
use testkit::services::Backend;

use crate::helpers::TestApp;

both_backends!(
    personas_are_private_with_one_default_and_lock_per_conversation,
    |app| {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let first = app
            .post(
                "/api/v1/personas",
                &alice.token,
                json!({"name": "민지", "description": "서울에 사는 대학생"}),
            )
            .await
            .expect(201);
        assert_eq!(
            first["is_default"], true,
            "the first persona is the default"
        );
        let second = app
            .post(
                "/api/v1/personas",
                &alice.token,
                json!({"name": "Ari", "avatar_url": "https://img.test/a.png"}),
            )
            .await
            .expect(201);
        assert_eq!(second["is_default"], false);
        let (p1, p2) = (
            first["id"].as_i64().unwrap(),
            second["id"].as_i64().unwrap(),
        );
        let made = app
            .post(
                &format!("/api/v1/personas/{p2}/default"),
                &alice.token,
                json!({}),
            )
            .await
            .expect(200);
        assert_eq!(made["is_default"], true);
        let list = app.get("/api/v1/personas", &alice.token).await.expect(200);
        let defaults: Vec<bool> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["is_default"].as_bool().unwrap())
            .collect();
        assert_eq!(defaults, [false, true], "one default");
        let patched = app
            .patch(
                &format!("/api/v1/personas/{p1}"),
                &alice.token,
                json!({"description": "부산 출신"}),
            )
            .await
            .expect(200);
        assert_eq!(
            (patched["name"].as_str(), patched["description"].as_str()),
            (Some("민지"), Some("부산 출신"))
        );

        // Bad input and other users' personas.
        let missing_name = app
            .post(
                "/api/v1/personas",
                &alice.token,
                json!({"description": "x"}),
            )
            .await
            .expect(422);
        assert_eq!(missing_name["errors"][0]["field"], "name");
        app.post(
            "/api/v1/personas",
            &alice.token,
            json!({"name": "x", "avatar_url": "ftp://x"}),
        )
        .await
        .expect(422);
        app.get(&format!("/api/v1/personas/{p1}"), &bob.token)
            .await
            .expect(404);
        app.patch(
            &format!("/api/v1/personas/{p1}"),
            &bob.token,
            json!({"name": "stolen"}),
        )
        .await
        .expect(404);
        app.delete(&format!("/api/v1/personas/{p1}"), &bob.token)
            .await
            .expect(404);
        app.post(
            &format!("/api/v1/personas/{p1}/default"),
            &bob.token,
            json!({}),
        )
        .await
        .expect(404);
        assert!(app
            .get("/api/v1/personas", &bob.token)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .is_empty());

        // Locked to a conversation: only one's own persona, only in one's own conversation.
        let character = app.character(&alice, "Sera", false).await;
        let conv = app.ai_chat(&alice, character).await;
        let path = format!("/api/v1/conversations/{conv}/persona");
        assert_eq!(
            app.get(&path, &alice.token).await.expect(200)["persona"],
            Value::Null
        );
        let locked = app
            .put(&path, &alice.token, json!({"persona_id": p1}))
            .await
            .expect(200);
        assert_eq!(locked["persona"]["id"], p1);
        assert_eq!(
            app.get(&path, &alice.token).await.expect(200)["persona"]["name"],
            "민지"
        );
        let bobs = app
            .post("/api/v1/personas", &bob.token, json!({"name": "Bo"}))
            .await
            .expect(201);
        let refused = app
            .put(&path, &alice.token, json!({"persona_id": bobs["id"]}))
            .await
            .expect(422);
        assert_eq!(refused["errors"][0]["field"], "persona_id");
        app.put(&path, &bob.token, json!({"persona_id": bobs["id"]}))
            .await
            .expect(404);
        app.get(&path, &bob.token).await.expect(404);
        assert_eq!(
            app.get(&path, &alice.token).await.expect(200)["persona"]["id"],
            p1,
            "unchanged"
        );
        app.put(&path, &alice.token, json!({"persona_id": null}))
            .await
            .expect(200);
        assert_eq!(
            app.get(&path, &alice.token).await.expect(200)["persona"],
            Value::Null
        );
        app.delete(&format!("/api/v1/personas/{p1}"), &alice.token)
            .await
            .expect(204);
        app.get(&format!("/api/v1/personas/{p1}"), &alice.token)
            .await
            .expect(404);
    }
);

both_backends!(lorebooks_crud_validation_test_box_and_attachment, |app| {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let book = json!({
        "name": "Eldoria",
        "scan_depth": 2,
        "token_budget": 400,
        "entries": [
            {"keys": ["castle", "성"], "content": "The castle stands on a hill.", "insertion_order": 1},
            {"keys": ["/drag(on|ons)\\b/i"], "content": "Dragons sleep in winter."},
            {"keys": ["sword"], "secondary_keys": ["fire"], "selective": true, "content": "The fire sword."},
            {"keys": [], "content": "Magic is rare.", "constant": true}
        ]
    });
    let created = app
        .post("/api/v1/lorebooks", &alice.token, json!({"book": book}))
        .await
        .expect(201);
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["name"], "Eldoria", "named after the book");
    assert_eq!(created["book"], book, "stored as given");
    let listed = app.get("/api/v1/lorebooks", &alice.token).await.expect(200);
    assert_eq!(listed[0]["id"], id);

    // The editor's test box: which entries fire, on which key.
    let test = app
        .post(
            "/api/v1/lorebooks/test",
            &alice.token,
            json!({"book": book, "text": "높은 성 위로 DRAGONS 날아간다, with a sword"}),
        )
        .await
        .expect(200);
    let fired: Vec<(i64, Value)> = test["fired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["entry"].as_i64().unwrap(), h["key"].clone()))
        .collect();
    assert_eq!(
        fired,
        [
            (3, Value::Null),
            (0, json!("성")),
            (1, json!("/drag(on|ons)\\b/i"))
        ],
        "the sword needs fire too"
    );

    // Bad input is a 422 naming the field; nothing is stored.
    for (bad, field) in [
        (
            json!({"keys": ["/(unclosed/"], "content": "x"}),
            "entries[0].keys[0]",
        ),
        (
            json!({"keys": ["/a{1,100}{1,100}{1,100}/"], "content": "x"}),
            "entries[0].keys[0]",
        ),
        (
            json!({"keys": ["/x/q"], "content": "x"}),
            "entries[0].keys[0]",
        ),
    ] {
        let r = app
            .post(
                "/api/v1/lorebooks",
                &alice.token,
                json!({"book": {"entries": [bad]}}),
            )
            .await
            .expect(422);
        assert_eq!(r["errors"][0]["field"], field, "{r}");
        let r = app
            .post(
                "/api/v1/lorebooks/test",
                &alice.token,
                json!({"book": {"entries": [bad]}, "text": "x"}),
            )
            .await
            .expect(422);
        assert_eq!(r["errors"][0]["field"], field);
    }
    let r = app
        .put(
            &format!("/api/v1/lorebooks/{id}"),
            &alice.token,
            json!({"book": {"token_budget": 0, "entries": []}}),
        )
        .await
        .expect(422);
    assert_eq!(r["errors"][0]["field"], "token_budget");
    app.post(
        "/api/v1/lorebooks",
        &alice.token,
        json!({"book": {"entries": "nope"}}),
    )
    .await
    .expect(422);
    assert_eq!(
        app.get(&format!("/api/v1/lorebooks/{id}"), &alice.token)
            .await
            .expect(200)["book"],
        book,
        "unchanged"
    );
    assert_eq!(
        app.get("/api/v1/lorebooks", &alice.token)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Another user's book is not found, whatever they try.
    app.get(&format!("/api/v1/lorebooks/{id}"), &bob.token)
        .await
        .expect(404);
    app.put(
        &format!("/api/v1/lorebooks/{id}"),
        &bob.token,
        json!({"book": {"entries": []}}),
    )
    .await
    .expect(404);
    app.delete(&format!("/api/v1/lorebooks/{id}"), &bob.token)
        .await
        .expect(404);

    // Attached to a conversation by its owner; a room's plain member may not.
    let character = app.character(&alice, "Sera", false).await;
    let conv = app.ai_chat(&alice, character).await;
    let attach = format!("/api/v1/conversations/{conv}/lorebooks");
    let attached = app
        .post(&attach, &alice.token, json!({"lorebook_id": id}))
        .await
        .expect(200);
    assert_eq!(attached[0]["id"], id);
    app.post(&attach, &bob.token, json!({"lorebook_id": id}))
        .await
        .expect(404);
    app.get(&attach, &bob.token).await.expect(404);
    let bobs = app
        .post(
            "/api/v1/lorebooks",
            &bob.token,
            json!({"book": {"entries": []}}),
        )
        .await
        .expect(201);
    let r = app
        .post(&attach, &alice.token, json!({"lorebook_id": bobs["id"]}))
        .await
        .expect(422);
    assert_eq!(
        r["errors"][0]["field"], "lorebook_id",
        "someone else's book cannot be attached"
    );
    let room = app.group(&alice, false).await;
    app.post(
        &format!("/api/v1/conversations/{room}/members"),
        &alice.token,
        json!({"user_id": bob.id}),
    )
    .await
    .expect(204);
    app.post(
        &format!("/api/v1/conversations/{room}/lorebooks"),
        &bob.token,
        json!({"lorebook_id": bobs["id"]}),
    )
    .await
    .expect(403);
    app.post(
        &format!("/api/v1/conversations/{room}/lorebooks"),
        &alice.token,
        json!({"lorebook_id": id}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get(
            &format!("/api/v1/conversations/{room}/lorebooks"),
            &bob.token
        )
        .await
        .expect(200)[0]["name"],
        "Eldoria",
        "members see which books are attached"
    );
    app.delete(
        &format!("/api/v1/conversations/{room}/lorebooks/{id}"),
        &bob.token,
    )
    .await
    .expect(403);
    app.delete(&format!("{attach}/{id}"), &alice.token)
        .await
        .expect(204);
    app.delete(&format!("{attach}/{id}"), &alice.token)
        .await
        .expect(404);
    app.delete(&format!("/api/v1/lorebooks/{id}"), &alice.token)
        .await
        .expect(204);
    assert!(app
        .get(
            &format!("/api/v1/conversations/{room}/lorebooks"),
            &alice.token
        )
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .is_empty());
});

both_backends!(
    a_cards_character_book_becomes_its_lorebook_and_exports_unchanged,
    |app| {
        let alice = app.register("alice").await;
        let book = json!({
            "entries": [
                {"keys": ["Eldoria"], "content": "{{char}}'s homeland.", "extensions": {"position": 4, "depth": 2, "selectiveLogic": 0},
                 "enabled": true, "insertion_order": 10, "case_sensitive": false, "priority": 5, "id": 1,
                 "comment": "home", "selective": false, "secondary_keys": [], "constant": false, "position": "before_char"},
                {"keys": ["마법"], "content": "마법은 드물다.", "insertion_order": 20, "enabled": true, "extensions": {}}
            ],
            "name": "Sera's world",
            "recursive_scanning": false,
            "scan_depth": 4,
            "token_budget": 512,
            "extensions": {"vendor": {"x": 1.5}}
        });
        let card = json!({
            "spec": "chara_card_v2",
            "spec_version": "2.0",
            "data": {
                "name": "Sera", "description": "A mage.", "personality": "", "scenario": "",
                "first_mes": "Hi", "mes_example": "", "creator_notes": "", "system_prompt": "",
                "post_history_instructions": "", "alternate_greetings": [], "tags": [],
                "creator": "me", "character_version": "1", "extensions": {},
                "character_book": book
            }
        });
        let created = app
            .raw(
                reqwest::Method::POST,
                "/api/v1/characters/import",
                Some(&alice.token),
                "application/json",
                card.to_string().into_bytes(),
            )
            .await
            .expect(201);
        let character = created["id"].as_i64().unwrap();
        let books = app.get("/api/v1/lorebooks", &alice.token).await.expect(200);
        assert_eq!(
            books[0]["character_id"], character,
            "bound to the character"
        );
        assert_eq!(books[0]["name"], "Sera's world");
        let id = books[0]["id"].as_i64().unwrap();
        let stored = app
            .get(&format!("/api/v1/lorebooks/{id}"), &alice.token)
            .await
            .expect(200);
        assert_eq!(stored["book"], book);

        let exported = app
            .get(
                &format!("/api/v1/characters/{character}/export"),
                &alice.token,
            )
            .await
            .expect(200);
        assert_eq!(
            exported["data"]["character_book"], book,
            "exported unchanged"
        );
        let keys: Vec<&String> = exported["data"]["character_book"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(
            keys,
            [
                "entries",
                "name",
                "recursive_scanning",
                "scan_depth",
                "token_budget",
                "extensions"
            ],
            "in the card's order"
        );

        // Edited, the export carries the edit.
        let mut edited = book.clone();
        edited["entries"][1]["content"] = json!("마법은 흔하다.");
        app.put(
            &format!("/api/v1/lorebooks/{id}"),
            &alice.token,
            json!({"book": edited}),
        )
        .await
        .expect(200);
        let exported = app
            .get(
                &format!("/api/v1/characters/{character}/export"),
                &alice.token,
            )
            .await
            .expect(200);
        assert_eq!(exported["data"]["character_book"], edited);

        // A card whose book is not a book is refused whole.
        let mut bad = card.clone();
        bad["data"]["character_book"] = json!({"entries": "not a list"});
        let r = app
            .raw(
                reqwest::Method::POST,
                "/api/v1/characters/import",
                Some(&alice.token),
                "application/json",
                bad.to_string().into_bytes(),
            )
            .await
            .expect(422);
        assert_eq!(r["errors"][0]["field"], "character_book");
        assert_eq!(
            app.get("/api/v1/characters?mine=true", &alice.token)
                .await
                .expect(200)["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
);

async fn chat_settings_within_bounds(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.llm.default_model = "mock/echo".into();
        s.llm.allowed_models = vec!["openai/gpt-4o-mini".into()];
        s.llm.temperature_max = 1.5;
        s.llm.max_output_tokens = 800;
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let character = app.character(&alice, "Sera", false).await;
    let conv = app.ai_chat(&alice, character).await;
    let path = format!("/api/v1/conversations/{conv}/settings");
    let defaults = app.get(&path, &alice.token).await.expect(200);
    assert_eq!(defaults["author_note_depth"], 4);
    assert_eq!(defaults["author_note_interval"], 1);
    assert_eq!(
        defaults["allowed_models"],
        json!(["mock/echo", "openai/gpt-4o-mini"])
    );
    assert_eq!(defaults["temperature_max"], 1.5);
    assert_eq!(defaults["max_tokens_limit"], 800);
    let changed = app
        .patch(&path, &alice.token, json!({"author_note": "{{char}}는 비밀을 숨긴다.", "author_note_depth": 2, "author_note_interval": 3, "model": "openai/gpt-4o-mini", "temperature": 0.7, "top_p": 0.9, "max_tokens": 300}))
        .await
        .expect(200);
    assert_eq!(changed["model"], "openai/gpt-4o-mini");
    assert_eq!(changed["top_p"], 0.9);
    for (bad, field) in [
        (json!({"temperature": 1.6}), "temperature"),
        (json!({"top_p": 0}), "top_p"),
        (json!({"max_tokens": 801}), "max_tokens"),
        (json!({"max_tokens": 0}), "max_tokens"),
        (json!({"model": "openai/gpt-5"}), "model"),
        (json!({"author_note_depth": -1}), "author_note_depth"),
        (
            json!({"author_note_interval": 100000}),
            "author_note_interval",
        ),
    ] {
        let r = app.patch(&path, &alice.token, bad).await.expect(422);
        assert_eq!(r["errors"][0]["field"], field);
    }
    app.patch(&path, &alice.token, json!({"temperature": "hot"}))
        .await
        .expect(422);
    let after = app.get(&path, &alice.token).await.expect(200);
    assert_eq!(
        (after["temperature"].clone(), after["max_tokens"].clone()),
        (json!(0.7), json!(300)),
        "nothing stored from refused edits"
    );
    let cleared = app
        .patch(
            &path,
            &alice.token,
            json!({"model": null, "temperature": null}),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            cleared["model"].clone(),
            cleared["temperature"].clone(),
            cleared["top_p"].clone()
        ),
        (Value::Null, Value::Null, json!(0.9))
    );

    // Strangers see nothing; in a room members see, the owner and admins change.
    app.get(&path, &bob.token).await.expect(404);
    app.patch(&path, &bob.token, json!({"author_note": "x"}))
        .await
        .expect(404);
    let room = app.group(&alice, false).await;
    app.post(
        &format!("/api/v1/conversations/{room}/members"),
        &alice.token,
        json!({"user_id": bob.id}),
    )
    .await
    .expect(204);
    let room_path = format!("/api/v1/conversations/{room}/settings");
    app.get(&room_path, &bob.token).await.expect(200);
    app.patch(&room_path, &bob.token, json!({"author_note": "x"}))
        .await
        .expect(403);
    app.patch(
        &format!("/api/v1/conversations/{room}/members/{}", bob.id),
        &alice.token,
        json!({"role": "admin"}),
    )
    .await
    .expect(204);
    app.patch(&room_path, &bob.token, json!({"author_note": "x"}))
        .await
        .expect(200);
}

#[tokio::test]
async fn chat_settings_within_bounds_postgres() {
    chat_settings_within_bounds(Backend::Postgres).await;
}

#[tokio::test]
async fn chat_settings_within_bounds_sqlite() {
    chat_settings_within_bounds(Backend::Sqlite).await;
}

both_backends!(
    the_context_report_is_the_owners_and_strangers_get_404,
    |app| {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let character = app.character(&alice, "Sera", false).await;
        let conv = app.ai_chat(&alice, character).await;
        let sent = app
            .post(
                &format!("/api/v1/conversations/{conv}/messages"),
                &alice.token,
                json!({"content": "안녕"}),
            )
            .await
            .expect(202);
        let trigger = sent["message"]["id"].as_i64().unwrap();
        let reply = app
            .store_reply(conv, trigger, "반가워", domain::MessageStatus::Complete)
            .await;
        let path = format!("/api/v1/conversations/{conv}/messages/{reply}/context");
        app.get(&path, &alice.token).await.expect(404);
        let report = json!({
            "v": 1, "model": "openai/gpt-4o", "encoding": "o200k_base", "budget_tokens": 1000, "prompt_tokens": 40,
            "sections": [{"kind": "card", "tokens": 30, "text": "You are Sera."}, {"kind": "history", "tokens": 0}, {"kind": "new_message", "tokens": 2}],
            "lore": [{"lorebook_id": 1, "lorebook": "W", "entry": 0, "label": "home", "key": "안녕", "position": {"at": "depth", "depth": 2}, "tokens": 5, "round": 0}],
            "lore_dropped": [],
            "history": {"available": 0, "included": 0, "dropped": 0, "tokens": 0},
            "examples_dropped": 0, "author_note": null, "persona": null,
            "settings": {"model": "openai/gpt-4o", "temperature": null, "top_p": null, "max_tokens": 1024}
        });
        let text = report.to_string();
        db::run(&app.state.db, move |c| {
            db::contexts::put(
                c,
                domain::MessageId(reply),
                domain::ConversationId(conv),
                &text,
            )
        })
        .await
        .unwrap();
        assert_eq!(app.get(&path, &alice.token).await.expect(200), report);
        app.get(&path, &bob.token).await.expect(404);
        app.get(
            &format!("/api/v1/conversations/{conv}/messages/999999/context"),
            &alice.token,
        )
        .await
        .expect(404);
        // A message id of another conversation is not found in this one.
        let other = app.ai_chat(&alice, character).await;
        app.get(
            &format!("/api/v1/conversations/{other}/messages/{reply}/context"),
            &alice.token,
        )
        .await
        .expect(404);
    }
);
