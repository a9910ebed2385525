//! The inbox (issue 19): mentions, thread replies to my messages, DMs while I have no socket and
//! friend requests land in it; never my own doing, never across a block; unread count and
//! marking read (others' ids change nothing); bad bodies are 422.

use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};
use testkit::both_backends;

async fn inbox(app: &TestApp, who: &Session) -> Value {
    app.get("/api/v1/notifications", &who.token)
        .await
        .expect(200)
}

fn kinds(inbox: &Value) -> Vec<(String, i64)> {
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["kind"].as_str().unwrap().to_owned(),
                n["actor_id"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn send(app: &TestApp, who: &Session, conv: i64, body: Value) -> i64 {
    app.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        &who.token,
        body,
    )
    .await
    .expect(201)["message"]["id"]
        .as_i64()
        .unwrap()
}

both_backends!(
    mentions_thread_replies_and_friend_requests_fill_the_inbox,
    |app| {
        let owner = app.register("owner").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        let dave = app.register("dave").await;
        let room = app
            .post(
                "/api/v1/conversations",
                &owner.token,
                json!({"kind": "group", "title": "Room"}),
            )
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        for who in [&bob, &carol, &dave] {
            app.post(
                &format!("/api/v1/conversations/{room}/members"),
                &owner.token,
                json!({"user_id": who.id}),
            )
            .await
            .expect(204);
        }

        send(&app, &bob, room, json!({"content": "@carol 자료 봤어요?"})).await;
        let carol_inbox = inbox(&app, &carol).await;
        assert_eq!(kinds(&carol_inbox), vec![("mention".to_owned(), bob.id)]);
        assert_eq!(carol_inbox["items"][0]["preview"], "@carol 자료 봤어요?");
        assert_eq!(carol_inbox["items"][0]["actor_username"], "bob");
        assert_eq!(carol_inbox["items"][0]["conversation_id"], room);
        assert_eq!(carol_inbox["unread_count"], 1);
        assert_eq!(kinds(&inbox(&app, &bob).await), vec![], "not my own doing");

        send(
            &app,
            &owner,
            room,
            json!({"content": "@everyone 회의 시작"}),
        )
        .await;
        for who in [&bob, &carol, &dave] {
            assert_eq!(
                kinds(&inbox(&app, who).await)[0],
                ("mention".to_owned(), owner.id)
            );
        }
        assert_eq!(kinds(&inbox(&app, &owner).await), vec![]);

        // A thread reply notifies the root's author once, even when it also mentions them.
        let root = send(&app, &bob, room, json!({"content": "question"})).await;
        send(
            &app,
            &carol,
            room,
            json!({"content": "answer", "thread_root_id": root}),
        )
        .await;
        send(
            &app,
            &dave,
            room,
            json!({"content": "@bob me too", "thread_root_id": root}),
        )
        .await;
        let bob_kinds = kinds(&inbox(&app, &bob).await);
        assert_eq!(
            bob_kinds[..2],
            [
                ("mention".to_owned(), dave.id),
                ("thread_reply".to_owned(), carol.id)
            ]
        );
        assert_eq!(bob_kinds.len(), 3);

        // Across a block nothing arrives.
        app.post("/api/v1/blocks", &bob.token, json!({"user_id": dave.id}))
            .await
            .expect(204);
        send(
            &app,
            &dave,
            room,
            json!({"content": "again", "thread_root_id": root}),
        )
        .await;
        assert_eq!(kinds(&inbox(&app, &bob).await).len(), 3);

        app.post(
            "/api/v1/friends/requests",
            &dave.token,
            json!({"user_id": carol.id}),
        )
        .await
        .expect(201);
        let carol_inbox = inbox(&app, &carol).await;
        assert_eq!(
            kinds(&carol_inbox)[0],
            ("friend_request".to_owned(), dave.id)
        );
        assert_eq!(carol_inbox["unread_count"], 3);

        // Marking read: one, others' ids (nothing), then all.
        let first = carol_inbox["items"][0]["id"].as_i64().unwrap();
        let marked = app
            .post(
                "/api/v1/notifications/read",
                &carol.token,
                json!({"ids": [first]}),
            )
            .await
            .expect(200);
        assert_eq!(marked, json!({"marked": 1, "unread_count": 2}));
        let theirs = app
            .post(
                "/api/v1/notifications/read",
                &bob.token,
                json!({"ids": [carol_inbox["items"][1]["id"]]}),
            )
            .await
            .expect(200);
        assert_eq!(theirs["marked"], 0);
        assert_eq!(
            app.get("/api/v1/notifications/unread_count", &carol.token)
                .await
                .expect(200),
            json!({"unread_count": 2})
        );
        assert_eq!(inbox(&app, &carol).await["items"][0]["read"], true);
        let all = app
            .post(
                "/api/v1/notifications/read",
                &carol.token,
                json!({"all": true}),
            )
            .await
            .expect(200);
        assert_eq!(all, json!({"marked": 2, "unread_count": 0}));

        // Paging, newest first.
        let page = app
            .get("/api/v1/notifications?limit=2", &carol.token)
            .await
            .expect(200);
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        assert_eq!(page["has_more"], true);
        let next = app
            .get(
                &format!(
                    "/api/v1/notifications?limit=2&before={}",
                    page["items"][1]["id"]
                ),
                &carol.token,
            )
            .await
            .expect(200);
        assert_eq!(next["items"].as_array().unwrap().len(), 1);
        assert_eq!(next["has_more"], false);

        for bad in [
            json!({}),
            json!({"ids": []}),
            json!({"ids": [1], "all": true}),
        ] {
            app.post("/api/v1/notifications/read", &carol.token, bad)
                .await
                .expect(422);
        }
        app.get("/api/v1/notifications?limit=0", &carol.token)
            .await
            .expect(422);
    }
);

both_backends!(a_dm_notifies_only_while_the_other_person_is_away, |app| {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let dm = app
        .post(
            "/api/v1/conversations",
            &alice.token,
            json!({"kind": "direct", "user_id": bob.id}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    send(&app, &alice, dm, json!({"content": "자니?"})).await;
    assert_eq!(
        kinds(&inbox(&app, &bob).await),
        vec![("direct_message".to_owned(), alice.id)]
    );
    // Bob opens a socket (a gateway marks him present): the DM reaches him live instead.
    app.state
        .bus
        .set_presence(
            domain::UserId(bob.id),
            "gw-test",
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    send(&app, &alice, dm, json!({"content": "일어났네"})).await;
    assert_eq!(kinds(&inbox(&app, &bob).await).len(), 1);
});

async fn receipts(app: &TestApp, dm: i64) -> Vec<(i64, i64)> {
    app.events(dm)
        .await
        .into_iter()
        .filter_map(|e| match e.event {
            domain::events::ConversationEvent::ReadReceipt {
                user_id,
                message_id,
                ..
            } => Some((user_id.0, message_id.0)),
            _ => None,
        })
        .collect()
}

both_backends!(
    dm_read_receipts_go_out_only_when_both_turned_them_on,
    |app| {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let stranger = app.register("stranger").await;
        assert_eq!(
            app.get("/api/v1/users/me/settings", &alice.token)
                .await
                .expect(200),
            json!({"read_receipts": false}),
            "off by default"
        );
        let dm = app
            .post(
                "/api/v1/conversations",
                &alice.token,
                json!({"kind": "direct", "user_id": bob.id}),
            )
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        let m1 = send(&app, &bob, dm, json!({"content": "하나"})).await;
        let m2 = send(&app, &bob, dm, json!({"content": "둘"})).await;
        let read = format!("/api/v1/conversations/{dm}/read");
        // Only alice shares: nothing goes out.
        app.patch(
            "/api/v1/users/me/settings",
            &alice.token,
            json!({"read_receipts": true}),
        )
        .await
        .expect(200);
        app.post(&read, &alice.token, json!({"message_id": m1}))
            .await
            .expect(204);
        assert_eq!(receipts(&app, dm).await, vec![]);
        // Both share: the reader's position goes on the DM's log.
        let on = app
            .patch(
                "/api/v1/users/me/settings",
                &bob.token,
                json!({"read_receipts": true}),
            )
            .await
            .expect(200);
        assert_eq!(on, json!({"read_receipts": true}));
        app.post(&read, &alice.token, json!({"message_id": m2}))
            .await
            .expect(204);
        assert_eq!(receipts(&app, dm).await, vec![(alice.id, m2)]);
        // Either can stop it alone.
        app.patch(
            "/api/v1/users/me/settings",
            &bob.token,
            json!({"read_receipts": false}),
        )
        .await
        .expect(200);
        app.post(&read, &alice.token, json!({"message_id": m2}))
            .await
            .expect(204);
        assert_eq!(receipts(&app, dm).await.len(), 1);
        // Strangers cannot mark read there; bad settings are 422.
        app.post(&read, &stranger.token, json!({"message_id": m2}))
            .await
            .expect(404);
        app.patch(
            "/api/v1/users/me/settings",
            &alice.token,
            json!({"read_receipts": "yes"}),
        )
        .await
        .expect(422);
    }
);

both_backends!(
    a_muted_conversation_lets_only_direct_mentions_through,
    |app| {
        let owner = app.register("owner").await;
        let bob = app.register("bob").await;
        let stranger = app.register("stranger").await;
        let room = app
            .post(
                "/api/v1/conversations",
                &owner.token,
                json!({"kind": "group", "title": "Room"}),
            )
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        app.post(
            &format!("/api/v1/conversations/{room}/members"),
            &owner.token,
            json!({"user_id": bob.id}),
        )
        .await
        .expect(204);
        let mute = format!("/api/v1/conversations/{room}/mute");
        app.put(&mute, &stranger.token, json!({})).await.expect(404);
        app.put(&mute, &bob.token, json!({"until": "2001-01-01T00:00:00Z"}))
            .await
            .expect(422);
        app.put(&mute, &bob.token, json!({})).await.expect(204);
        let root = send(&app, &bob, room, json!({"content": "root"})).await;
        send(&app, &owner, room, json!({"content": "@everyone hi"})).await;
        send(
            &app,
            &owner,
            room,
            json!({"content": "reply", "thread_root_id": root}),
        )
        .await;
        assert_eq!(kinds(&inbox(&app, &bob).await), vec![], "muted");
        send(&app, &owner, room, json!({"content": "@bob look"})).await;
        assert_eq!(
            kinds(&inbox(&app, &bob).await),
            vec![("mention".to_owned(), owner.id)],
            "a direct mention still arrives"
        );
        app.delete(&mute, &bob.token).await.expect(204);
        send(
            &app,
            &owner,
            room,
            json!({"content": "again", "thread_root_id": root}),
        )
        .await;
        assert_eq!(
            kinds(&inbox(&app, &bob).await)[0],
            ("thread_reply".to_owned(), owner.id)
        );
        // A mute that ends in the future is a mute now.
        app.put(&mute, &bob.token, json!({"until": "2999-01-01T00:00:00Z"}))
            .await
            .expect(204);
        send(
            &app,
            &owner,
            room,
            json!({"content": "more", "thread_root_id": root}),
        )
        .await;
        assert_eq!(kinds(&inbox(&app, &bob).await).len(), 2);
    }
);
