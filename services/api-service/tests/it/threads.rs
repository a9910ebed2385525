//! Threads (issue 19): replies under a message of a group or channel stay off the main
//! timeline; the root shows the count, last reply and the reader's unread count; strangers,
//! DMs, nesting, foreign and deleted roots are refused and store nothing.

use domain::events::ConversationEvent;
use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};
use testkit::both_backends;

async fn room(app: &TestApp, owner: &Session, members: &[&Session]) -> i64 {
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
    for m in members {
        app.post(
            &format!("/api/v1/conversations/{room}/members"),
            &owner.token,
            json!({"user_id": m.id}),
        )
        .await
        .expect(204);
    }
    room
}

async fn send(app: &TestApp, who: &Session, conv: i64, body: Value) -> Value {
    app.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        &who.token,
        body,
    )
    .await
    .expect(201)["message"]
        .clone()
}

async fn timeline(app: &TestApp, who: &Session, conv: i64) -> Vec<Value> {
    app.get(
        &format!("/api/v1/conversations/{conv}/messages"),
        &who.token,
    )
    .await
    .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

both_backends!(
    thread_replies_stay_off_the_timeline_and_count_on_the_root,
    |app| {
        let owner = app.register("owner").await;
        let bob = app.register("bob").await;
        let r = room(&app, &owner, &[&bob]).await;
        let root = send(&app, &owner, r, json!({"content": "주말 계획?"})).await["id"]
            .as_i64()
            .unwrap();
        let first = send(
            &app,
            &bob,
            r,
            json!({"content": "등산 가요", "thread_root_id": root}),
        )
        .await;
        assert_eq!(first["thread_root_id"], root);
        let second = send(
            &app,
            &bob,
            r,
            json!({"content": "같이 가실 분", "thread_root_id": root}),
        )
        .await;
        let after = send(&app, &owner, r, json!({"content": "main again"})).await;

        let main = timeline(&app, &owner, r).await;
        let ids: Vec<i64> = main.iter().map(|m| m["id"].as_i64().unwrap()).collect();
        assert_eq!(
            ids,
            vec![root, after["id"].as_i64().unwrap()],
            "replies are not in the timeline"
        );
        assert_eq!(main[0]["thread"]["reply_count"], 2);
        assert_eq!(
            main[0]["thread"]["unread_count"], 2,
            "the owner has read none"
        );
        assert_eq!(main[0]["thread"]["last_reply_at"], second["created_at"]);
        assert!(main[1].get("thread").is_none(), "no thread, no summary");
        assert_eq!(
            timeline(&app, &bob, r).await[0]["thread"]["unread_count"],
            0,
            "bob wrote them"
        );

        let thread = format!("/api/v1/conversations/{r}/messages/{root}/thread");
        let page = app.get(&thread, &owner.token).await.expect(200);
        assert_eq!(page["root"]["id"], root);
        let replies: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap())
            .collect();
        assert_eq!(replies, vec!["등산 가요", "같이 가실 분"]);
        assert_eq!(page["has_more"], false);
        let paged = app
            .get(
                &format!("{thread}?limit=1&after={}", first["id"]),
                &owner.token,
            )
            .await
            .expect(200);
        assert_eq!(paged["items"][0]["id"], second["id"]);

        app.post(
            &format!("{thread}/read"),
            &owner.token,
            json!({"message_id": first["id"]}),
        )
        .await
        .expect(204);
        assert_eq!(
            timeline(&app, &owner, r).await[0]["thread"]["unread_count"],
            1
        );
        app.post(
            &format!("{thread}/read"),
            &owner.token,
            json!({"message_id": second["id"]}),
        )
        .await
        .expect(204);
        // Never backwards.
        app.post(
            &format!("{thread}/read"),
            &owner.token,
            json!({"message_id": first["id"]}),
        )
        .await
        .expect(204);
        assert_eq!(
            timeline(&app, &owner, r).await[0]["thread"]["unread_count"],
            0
        );
        // The marker names a reply of this thread.
        let body = app
            .post(
                &format!("{thread}/read"),
                &owner.token,
                json!({"message_id": root}),
            )
            .await
            .expect(422);
        assert_eq!(body["errors"][0]["field"], "message_id");

        let events: Vec<String> = app
            .events(r)
            .await
            .into_iter()
            .filter_map(|e| match e.event {
                ConversationEvent::MessageCreated { message } => Some(format!(
                    "created {} in {:?}",
                    message.content,
                    message.thread_root_id.map(|m| m.0)
                )),
                ConversationEvent::ThreadUpdated {
                    root_id,
                    reply_count,
                    ..
                } => Some(format!("thread {} has {reply_count}", root_id.0)),
                _ => None,
            })
            .collect();
        assert_eq!(
            events,
            vec![
                "created 주말 계획? in None".to_owned(),
                format!("created 등산 가요 in Some({root})"),
                format!("thread {root} has 1"),
                format!("created 같이 가실 분 in Some({root})"),
                format!("thread {root} has 2"),
                "created main again in None".to_owned(),
            ]
        );
    }
);

both_backends!(
    threads_refuse_strangers_dms_nesting_and_foreign_or_deleted_roots,
    |app| {
        let owner = app.register("owner").await;
        let bob = app.register("bob").await;
        let stranger = app.register("stranger").await;
        let r = room(&app, &owner, &[&bob]).await;
        let root = send(&app, &owner, r, json!({"content": "root"})).await["id"]
            .as_i64()
            .unwrap();
        let reply = send(
            &app,
            &bob,
            r,
            json!({"content": "reply", "thread_root_id": root}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        let thread = format!("/api/v1/conversations/{r}/messages/{root}/thread");
        let messages = format!("/api/v1/conversations/{r}/messages");

        app.get(&thread, &stranger.token).await.expect(404);
        app.post(
            &format!("{thread}/read"),
            &stranger.token,
            json!({"message_id": reply}),
        )
        .await
        .expect(404);
        app.post(
            &messages,
            &stranger.token,
            json!({"content": "x", "thread_root_id": root}),
        )
        .await
        .expect(404);
        // A reply is not a root: threads do not nest.
        app.get(&format!("{messages}/{reply}/thread"), &owner.token)
            .await
            .expect(404);
        let refuse = |body: Value, conv: i64| {
            let app = &app;
            let token = bob.token.clone();
            async move {
                let b = app
                    .post(
                        &format!("/api/v1/conversations/{conv}/messages"),
                        &token,
                        body,
                    )
                    .await
                    .expect(422);
                assert_eq!(b["errors"][0]["field"], "thread_root_id");
            }
        };
        refuse(json!({"content": "x", "thread_root_id": reply}), r).await;
        let other = room(&app, &owner, &[&bob]).await;
        let foreign = send(&app, &owner, other, json!({"content": "elsewhere"})).await["id"]
            .as_i64()
            .unwrap();
        refuse(json!({"content": "x", "thread_root_id": foreign}), r).await;
        refuse(json!({"content": "x", "thread_root_id": 99_999_999}), r).await;
        let dm = app
            .post(
                "/api/v1/conversations",
                &owner.token,
                json!({"kind": "direct", "user_id": bob.id}),
            )
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        let in_dm = send(&app, &owner, dm, json!({"content": "dm"})).await["id"]
            .as_i64()
            .unwrap();
        refuse(json!({"content": "x", "thread_root_id": in_dm}), dm).await;
        app.delete(&format!("{messages}/{root}"), &owner.token)
            .await
            .expect(204);
        refuse(json!({"content": "x", "thread_root_id": root}), r).await;

        let page = app.get(&thread, &owner.token).await.expect(200);
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            1,
            "nothing refused was stored"
        );
    }
);
