//! Messages: send (event + job, idempotent), limits, history pages, edit/delete, regenerate, stop.

use domain::events::{ConversationEvent, EventPayload};
use domain::{ConversationId, MessageStatus};
use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;
use testkit::both_backends;

both_backends!(send_stores_publishes_and_enqueues_the_reply_job, |app| {
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    let sent = app
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            &alice.token,
            json!({"content": "Hello Luna"}),
        )
        .await
        .expect(202);
    assert_eq!(sent["message"]["content"], "Hello Luna");
    assert_eq!(sent["message"]["author_username"], "alice");
    assert_eq!(sent["message"]["role"], "user");
    let message_id = sent["message"]["id"].as_i64().unwrap();
    assert_eq!(sent["job_id"], format!("reply-{message_id}"));

    let log = app.events(conv).await;
    assert_eq!(log.len(), 1);
    match &log[0].event {
        ConversationEvent::MessageCreated { message } => assert_eq!(message.id.0, message_id),
        other => panic!("unexpected event {other:?}"),
    }
    assert_eq!(app.state.bus.stream_len("llm.jobs").await.unwrap(), 1);
});

both_backends!(retried_sends_with_the_same_client_id_store_once, |app| {
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    let body = json!({"content": "once", "client_id": "c-1"});
    let first = app
        .post(&path, &alice.token, body.clone())
        .await
        .expect(202);
    let again = app.post(&path, &alice.token, body).await.expect(200);
    assert_eq!(first["message"]["id"], again["message"]["id"]);
    assert_eq!(first["job_id"], again["job_id"]);

    let by_header = app
        .http
        .post(app.url(&path))
        .bearer_auth(&alice.token)
        .header("Idempotency-Key", "k-9")
        .json(&json!({"content": "header key"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 202);
    let retry = app
        .http
        .post(app.url(&path))
        .bearer_auth(&alice.token)
        .header("Idempotency-Key", "k-9")
        .json(&json!({"content": "header key"}))
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    let history = app.get(&path, &alice.token).await.expect(200);
    assert_eq!(
        history["items"].as_array().unwrap().len(),
        3,
        "greeting + two stored messages"
    );
    assert_eq!(
        app.events(conv).await.len(),
        2,
        "one message.created per stored message"
    );
    assert_eq!(
        app.state.bus.stream_len("llm.jobs").await.unwrap(),
        2,
        "one job per stored message"
    );
});

both_backends!(
    message_content_is_validated_and_nothing_is_stored_on_error,
    |app| {
        let alice = app.register("alice").await;
        let luna = app.character(&alice, "Luna", false).await;
        let conv = app.ai_chat(&alice, luna).await;
        let path = format!("/api/v1/conversations/{conv}/messages");
        for bad in [
            json!({"content": ""}),
            json!({"content": "   "}),
            json!({"content": "x".repeat(2001)}),
            json!({"content": 12}),
            json!({}),
            json!({"content": "hi", "client_id": ""}),
            json!({"content": "hi", "client_id": "x".repeat(65)}),
            json!({"content": "hi", "message_type": "system"}),
            json!({"content": "hi", "message_type": "image"}),
            json!({"content": "hi", "message_type": "image", "metadata": {"url": "ftp://x"}}),
            json!({"content": "hi", "reply_to_id": 999_999}),
            json!({"content": "hi", "extra": 1}),
        ] {
            let r = app.post(&path, &alice.token, bad.clone()).await;
            assert_eq!(r.status, 422, "{bad} → {}", r.body);
        }
        app.post(&path, &alice.token, json!({"content": "안".repeat(2000)}))
            .await
            .expect(202);
        let history = app.get(&path, &alice.token).await.expect(200);
        assert_eq!(history["items"].as_array().unwrap().len(), 2);
        app.get(&format!("{path}?limit=0"), &alice.token)
            .await
            .expect(422);
        app.get(&format!("{path}?limit=101"), &alice.token)
            .await
            .expect(422);
        app.get(&format!("{path}?before=1&after=1"), &alice.token)
            .await
            .expect(422);
        app.get(&format!("{path}?before=abc"), &alice.token)
            .await
            .expect(422);
    }
);

#[tokio::test]
async fn strict_deployments_limit_messages_to_200_characters() {
    let app = TestApp::spawn_with(testkit::services::Backend::Sqlite, |s| {
        s.chat.strict_message_chars = 200
    })
    .await;
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    app.post(&path, &alice.token, json!({"content": "x".repeat(200)}))
        .await
        .expect(202);
    let refused = app
        .post(&path, &alice.token, json!({"content": "x".repeat(201)}))
        .await
        .expect(422);
    assert!(refused["detail"].as_str().unwrap().contains("200"));
}

#[tokio::test]
async fn sends_are_rate_limited_per_user() {
    let app = TestApp::spawn_with(testkit::services::Backend::Sqlite, |s| {
        s.rate_limit.sends_per_minute = 2
    })
    .await;
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    app.post(&path, &alice.token, json!({"content": "1"}))
        .await
        .expect(202);
    app.post(&path, &alice.token, json!({"content": "2"}))
        .await
        .expect(202);
    let limited = app.post(&path, &alice.token, json!({"content": "3"})).await;
    assert!(limited.headers.contains_key("retry-after"));
    limited.expect(429);
}

both_backends!(history_pages_by_cursor_in_both_directions, |app| {
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    for i in 0..7 {
        app.post(&path, &alice.token, json!({"content": format!("m{i}")}))
            .await
            .expect(202);
    }
    let newest = app
        .get(&format!("{path}?limit=3"), &alice.token)
        .await
        .expect(200);
    let contents = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(contents(&newest), ["m4", "m5", "m6"]);
    assert_eq!(newest["has_more"], true);
    let oldest_id = newest["items"][0]["id"].as_i64().unwrap();
    let older = app
        .get(&format!("{path}?limit=3&before={oldest_id}"), &alice.token)
        .await
        .expect(200);
    assert_eq!(contents(&older), ["m1", "m2", "m3"]);
    let first_id = older["items"][0]["id"].as_i64().unwrap();
    let oldest = app
        .get(&format!("{path}?limit=3&before={first_id}"), &alice.token)
        .await
        .expect(200);
    assert_eq!(contents(&oldest), ["Hello alice, I am Luna.", "m0"]);
    assert_eq!(oldest["has_more"], false);
    let after = app
        .get(&format!("{path}?limit=2&after={first_id}"), &alice.token)
        .await
        .expect(200);
    assert_eq!(contents(&after), ["m2", "m3"]);
    assert_eq!(after["has_more"], true);
});

both_backends!(authors_edit_and_delete_their_messages_with_events, |app| {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    let path = format!("/api/v1/conversations/{conv}/messages");
    let sent = app
        .post(&path, &alice.token, json!({"content": "typo"}))
        .await
        .expect(202);
    let id = sent["message"]["id"].as_i64().unwrap();

    app.patch(
        &format!("{path}/{id}"),
        &bob.token,
        json!({"content": "hacked"}),
    )
    .await
    .expect(404);
    app.delete(&format!("{path}/{id}"), &bob.token)
        .await
        .expect(404);
    let edited = app
        .patch(
            &format!("{path}/{id}"),
            &alice.token,
            json!({"content": "fixed"}),
        )
        .await
        .expect(200);
    assert_eq!(edited["content"], "fixed");
    assert!(edited["edited_at"].is_string());
    app.patch(
        &format!("{path}/{id}"),
        &alice.token,
        json!({"content": ""}),
    )
    .await
    .expect(422);
    app.patch(
        &format!("{path}/999999"),
        &alice.token,
        json!({"content": "x"}),
    )
    .await
    .expect(404);

    let greeting = app.get(&path, &alice.token).await.expect(200)["items"][0]["id"]
        .as_i64()
        .unwrap();
    // The chat's owner may fix an AI reply in place (issue 15).
    let fixed = app
        .patch(
            &format!("{path}/{greeting}"),
            &alice.token,
            json!({"content": "rewrite the AI"}),
        )
        .await
        .expect(200);
    assert_eq!(fixed["content"], "rewrite the AI");

    app.delete(&format!("{path}/{id}"), &alice.token)
        .await
        .expect(204);
    let history = app.get(&path, &alice.token).await.expect(200);
    let deleted = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(deleted["content"], "");
    assert!(deleted["deleted_at"].is_string());
    app.patch(
        &format!("{path}/{id}"),
        &alice.token,
        json!({"content": "undelete"}),
    )
    .await
    .expect(409);

    let kinds: Vec<String> = app
        .events(conv)
        .await
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "message.created",
            "message.edited",
            "message.edited",
            "message.deleted"
        ]
    );
});

both_backends!(regenerate_adds_a_variant_and_keeps_the_old_reply, |app| {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    let base = format!("/api/v1/conversations/{conv}");
    app.post(&format!("{base}/regenerate"), &alice.token, json!({}))
        .await
        .expect(409);
    let sent = app
        .post(
            &format!("{base}/messages"),
            &alice.token,
            json!({"content": "hi"}),
        )
        .await
        .expect(202);
    let trigger = sent["message"]["id"].as_i64().unwrap();
    app.post(&format!("{base}/regenerate"), &alice.token, json!({}))
        .await
        .expect(409);
    let reply = app
        .store_reply(conv, trigger, "AI says hi", MessageStatus::Complete)
        .await;

    app.post(&format!("{base}/regenerate"), &bob.token, json!({}))
        .await
        .expect(404);
    let accepted = app
        .post(&format!("{base}/regenerate"), &alice.token, json!({}))
        .await
        .expect(202);
    assert!(accepted["job_id"].as_str().unwrap().starts_with("regen-"));
    let variant = accepted["message"]["id"].as_i64().unwrap();
    assert_eq!(accepted["message"]["status"], "streaming");
    assert_eq!(accepted["message"]["fork"], json!({"index": 1, "count": 2}));
    let history = app
        .get(&format!("{base}/messages"), &alice.token)
        .await
        .expect(200);
    let ids: Vec<i64> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&variant), "the new variant is on the path");
    assert!(!ids.contains(&reply), "the old variant left the path");
    let old = app.state.db.clone();
    let old = db::run(&old, move |c| {
        db::messages::find(c, domain::MessageId(reply))
    })
    .await
    .unwrap();
    assert!(old.deleted_at.is_none(), "the old variant is kept");
    assert_eq!(app.state.bus.stream_len("llm.jobs").await.unwrap(), 2);
});

both_backends!(stop_cancels_the_reply_in_progress, |app| {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    let base = format!("/api/v1/conversations/{conv}");
    app.post(&format!("{base}/stop"), &alice.token, json!({}))
        .await
        .expect(409);
    let sent = app
        .post(
            &format!("{base}/messages"),
            &alice.token,
            json!({"content": "hi"}),
        )
        .await
        .expect(202);
    let trigger = sent["message"]["id"].as_i64().unwrap();
    app.store_reply(conv, trigger, "AI says hi", MessageStatus::Streaming)
        .await;
    app.post(&format!("{base}/stop"), &bob.token, json!({}))
        .await
        .expect(404);
    let stopped = app
        .post(&format!("{base}/stop"), &alice.token, json!({}))
        .await
        .expect(202);
    let job = stopped["job_id"].as_str().unwrap().to_owned();
    assert_eq!(job, format!("reply-{trigger}"));
    assert!(app.state.bus.is_cancelled(&job).await.unwrap());
    app.request(
        Method::POST,
        &format!("{base}/stop"),
        Some(&alice.token),
        None,
    )
    .await
    .expect(202);
});

both_backends!(wait_returns_the_finished_reply, |app| {
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    // Stand in for the worker: answer the first job that appears.
    let db_pool = app.state.db.clone();
    let conversation = ConversationId(conv);
    let worker = tokio::spawn(async move {
        loop {
            let rows = db::run(&db_pool, move |c| {
                db::messages::list_page(c, conversation, None, None, 10, None)
            })
            .await
            .unwrap();
            if let Some(user_msg) = rows.iter().find(|m| m.role == domain::MessageRole::User) {
                let reply = db::messages::AssistantReply {
                    conversation_id: conversation,
                    character_id: None,
                    job_id: format!("reply-{}", user_msg.id),
                    reply_to_id: Some(user_msg.id),
                    content: "done thinking".into(),
                    status: MessageStatus::Complete,
                    model: Some("mock/echo".into()),
                    prompt_tokens: Some(5),
                    completion_tokens: Some(2),
                };
                db::run(&db_pool, move |c| {
                    db::messages::upsert_assistant_reply(c, reply)
                })
                .await
                .unwrap();
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    let answered = app
        .post(
            &format!("/api/v1/conversations/{conv}/messages?wait=true"),
            &alice.token,
            json!({"content": "think"}),
        )
        .await
        .expect(200);
    assert_eq!(answered["reply"]["content"], "done thinking");
    assert_eq!(answered["reply"]["completion_tokens"], 2);
    worker.await.unwrap();
});

both_backends!(a_retry_heals_a_send_that_crashed_before_enqueueing, |app| {
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    // The first request stored the message and died before enqueueing its job.
    let stored = db::messages::NewMessageRow {
        conversation_id: ConversationId(conv),
        author_id: Some(domain::UserId(alice.id)),
        character_id: None,
        role: domain::MessageRole::User,
        message_type: domain::MessageType::Text,
        content: "lost job?".into(),
        metadata: "{}".into(),
        reply_to_id: None,
        status: MessageStatus::Complete,
        job_id: None,
        client_id: Some("crash-1".into()),
        prompt_tokens: None,
        completion_tokens: None,
        model: None,
    };
    db::run(&app.state.db, move |c| {
        db::messages::insert_idempotent(c, stored)
    })
    .await
    .unwrap();
    assert_eq!(app.state.bus.stream_len("llm.jobs").await.unwrap_or(0), 0);
    let path = format!("/api/v1/conversations/{conv}/messages");
    let retry = app
        .post(
            &path,
            &alice.token,
            json!({"content": "lost job?", "client_id": "crash-1"}),
        )
        .await
        .expect(200);
    assert!(retry["job_id"].is_string());
    assert_eq!(
        app.state.bus.stream_len("llm.jobs").await.unwrap(),
        1,
        "the retry enqueued the missing job"
    );
    app.post(
        &path,
        &alice.token,
        json!({"content": "lost job?", "client_id": "crash-1"}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.state.bus.stream_len("llm.jobs").await.unwrap(),
        1,
        "and only once"
    );
});

// Issue 13, hole 2: stop used to accept any job id without a message row (every `story-N`,
// any string) and store a cancel flag for it.
both_backends!(
    stop_refuses_foreign_and_unknown_jobs_and_stores_nothing,
    |app| {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let story = app
            .post("/api/v1/stories", &alice.token, json!({"prompt": "A tale"}))
            .await
            .expect(202);
        let story_job = story["job_id"].as_str().unwrap().to_owned();
        let luna = app.character(&bob, "Luna", false).await;
        let conv = app.ai_chat(&bob, luna).await;
        let stop = format!("/api/v1/conversations/{conv}/stop");
        for job in [story_job.as_str(), "anything-at-all", "reply-999999"] {
            let refused = app
                .post(&stop, &bob.token, json!({"job_id": job}))
                .await
                .expect(404);
            assert_eq!(refused["code"], "not_found");
            assert!(
                !app.state.bus.is_cancelled(job).await.unwrap(),
                "no cancel flag is stored for {job}"
            );
        }
        // Alice's reply in her own chat is not Bob's to stop from his conversation either.
        let her_luna = app.character(&alice, "Luna", false).await;
        let her_conv = app.ai_chat(&alice, her_luna).await;
        let sent = app
            .post(
                &format!("/api/v1/conversations/{her_conv}/messages"),
                &alice.token,
                json!({"content": "hi"}),
            )
            .await
            .expect(202);
        let her_job = sent["job_id"].as_str().unwrap().to_owned();
        app.post(&stop, &bob.token, json!({"job_id": her_job}))
            .await
            .expect(404);
        assert!(!app.state.bus.is_cancelled(&her_job).await.unwrap());
        // Her own stop of the same job, before the worker has written a row, is accepted.
        let stopped = app
            .post(
                &format!("/api/v1/conversations/{her_conv}/stop"),
                &alice.token,
                json!({"job_id": her_job}),
            )
            .await
            .expect(202);
        assert_eq!(stopped["job_id"], her_job);
        assert!(app.state.bus.is_cancelled(&her_job).await.unwrap());
    }
);

// Hole 2: in a room, a member may stop only replies to their own messages; owners and admins
// may stop any.
both_backends!(
    in_a_room_only_the_author_or_a_manager_stops_a_reply,
    |app| {
        let owner = app.register("owner").await;
        let member = app.register("member").await;
        let other = app.register("other").await;
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
        for who in [&member, &other] {
            app.post(
                &format!("/api/v1/conversations/{room}/members"),
                &owner.token,
                json!({"user_id": who.id}),
            )
            .await
            .expect(204);
        }
        let luna = app.character(&owner, "Luna", true).await;
        app.post(
            &format!("/api/v1/conversations/{room}/characters"),
            &owner.token,
            json!({"character_id": luna}),
        )
        .await
        .expect(204);
        let sent = app
            .post(
                &format!("/api/v1/conversations/{room}/messages"),
                &member.token,
                json!({"content": "@Luna tell us a story"}),
            )
            .await
            .expect(202);
        let job = sent["job_id"].as_str().unwrap().to_owned();
        assert!(job.starts_with("mention-"), "{job}");
        let stop = format!("/api/v1/conversations/{room}/stop");
        let refused = app
            .post(&stop, &other.token, json!({"job_id": job}))
            .await
            .expect(403);
        assert_eq!(refused["code"], "forbidden");
        assert!(!app.state.bus.is_cancelled(&job).await.unwrap());
        app.post(&stop, &member.token, json!({"job_id": job}))
            .await
            .expect(202);
        app.post(&stop, &owner.token, json!({"job_id": job}))
            .await
            .expect(202);
    }
);

// Hole 3: a send whose first try stored the message but never published it (Redis failed in
// between) is published by the retry with the same client id — and only once.
both_backends!(
    a_retried_send_publishes_the_created_event_exactly_once,
    |app| {
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
        // The first try: stored, then the process lost Redis before publishing.
        let mut new = db::messages::NewMessageRow::user(
            ConversationId(dm),
            domain::UserId(alice.id),
            "are you there?",
        );
        new.client_id = Some("c-1".into());
        let stored = db::run(&app.state.db, move |c| {
            db::messages::insert_idempotent(c, new)
        })
        .await
        .unwrap()
        .message
        .id;
        let created = |events: Vec<EventPayload>| {
            events
            .into_iter()
            .filter(|e| {
                matches!(&e.event, ConversationEvent::MessageCreated { message } if message.id == stored)
            })
            .count()
        };
        assert_eq!(created(app.events(dm).await), 0);
        for _ in 0..2 {
            let retry = app
                .post(
                    &format!("/api/v1/conversations/{dm}/messages"),
                    &alice.token,
                    json!({"content": "are you there?", "client_id": "c-1"}),
                )
                .await
                .expect(200);
            assert_eq!(retry["message"]["id"], stored.0);
        }
        assert_eq!(
            created(app.events(dm).await),
            1,
            "the retry published message.created, and only once"
        );
    }
);

// Hole 2: stories have their own stop, for their owner only.
both_backends!(only_its_owner_stops_a_story, |app| {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let story = app
        .post("/api/v1/stories", &alice.token, json!({"prompt": "A tale"}))
        .await
        .expect(202);
    let id = story["id"].as_i64().unwrap();
    let job = story["job_id"].as_str().unwrap().to_owned();
    app.post(&format!("/api/v1/stories/{id}/stop"), &bob.token, json!({}))
        .await
        .expect(404);
    assert!(!app.state.bus.is_cancelled(&job).await.unwrap());
    app.post("/api/v1/stories/999999/stop", &alice.token, json!({}))
        .await
        .expect(404);
    let stopped = app
        .post(
            &format!("/api/v1/stories/{id}/stop"),
            &alice.token,
            json!({}),
        )
        .await
        .expect(202);
    assert_eq!(stopped["job_id"], job);
    assert!(app.state.bus.is_cancelled(&job).await.unwrap());
});

// A character's reply in a room names the character to every member, even when its card is
// private to its owner (the others cannot read the card, and used to see only "AI").
both_backends!(a_room_message_names_its_character_to_other_members, |app| {
    let owner = app.register("owner").await;
    let member = app.register("member").await;
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
        json!({"user_id": member.id}),
    )
    .await
    .expect(204);
    let luna = app.character(&owner, "Luna", false).await;
    app.get(&format!("/api/v1/characters/{luna}"), &member.token)
        .await
        .expect(404);
    // The reply as the worker stores it.
    let reply = db::messages::NewMessageRow {
        author_id: None,
        character_id: Some(domain::CharacterId(luna)),
        role: domain::MessageRole::Assistant,
        ..db::messages::NewMessageRow::user(
            ConversationId(room),
            domain::UserId(owner.id),
            "Once upon a time",
        )
    };
    db::run(&app.state.db, move |c| db::messages::insert(c, reply))
        .await
        .unwrap();
    let page = app
        .get(
            &format!("/api/v1/conversations/{room}/messages"),
            &member.token,
        )
        .await
        .expect(200);
    let said = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "assistant")
        .expect("the reply is in the page")
        .clone();
    assert_eq!(said["character_name"], "Luna");
    assert_eq!(said["character_id"], luna);
});
