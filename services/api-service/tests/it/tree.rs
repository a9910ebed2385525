//! Conversations as trees (issue 15) over REST: greetings as variants, choosing a variant,
//! edit-and-rerun, branch from here, continue, editing AI replies — and every bad input
//! refused with nothing changed. The worker's side (prompts follow the active path) is tested
//! in llm-worker's `tree` tests.

use domain::events::ConversationEvent;
use domain::MessageStatus;
use serde_json::{json, Value};

use crate::helpers::TestApp;
use testkit::both_backends;

/// Finishes the streaming placeholder of a regenerate as the worker would.
async fn finish(app: &TestApp, job_id: &str, text: &str) {
    let (job, text) = (job_id.to_owned(), text.to_owned());
    db::run(&app.state.db, move |c| {
        let row = db::messages::find_by_job_id(c, &job)?.expect("placeholder");
        db::messages::upsert_assistant_reply(
            c,
            db::messages::AssistantReply {
                conversation_id: row.conversation_id,
                character_id: row.character_id,
                job_id: job,
                reply_to_id: row.reply_to_id,
                content: text,
                status: MessageStatus::Complete,
                model: None,
                prompt_tokens: None,
                completion_tokens: None,
            },
        )
    })
    .await
    .unwrap();
}

fn contents(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

both_backends!(a_card_with_three_greetings_offers_three, |app| {
    let alice = app.register("alice").await;
    let luna = app
        .post(
            "/api/v1/characters",
            &alice.token,
            json!({"name": "Luna", "greeting": "Hi {{user}}.",
                   "alternate_greetings": ["Oh, it's {{user}}.", "Welcome back."]}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let conv = app.ai_chat(&alice, luna).await;
    let base = format!("/api/v1/conversations/{conv}");
    let page = app
        .get(&format!("{base}/messages"), &alice.token)
        .await
        .expect(200);
    assert_eq!(contents(&page), ["Hi alice."]);
    let first = &page["items"][0];
    assert_eq!(first["fork"], json!({"index": 0, "count": 3}));
    let id = first["id"].as_i64().unwrap();
    let selected = app
        .put(
            &format!("{base}/messages/{id}/active_variant"),
            &alice.token,
            json!({"index": 2}),
        )
        .await
        .expect(200);
    assert_eq!(selected["message"]["content"], "Welcome back.");
    assert_eq!(selected["message"]["fork"], json!({"index": 2, "count": 3}));
    let page = app
        .get(&format!("{base}/messages"), &alice.token)
        .await
        .expect(200);
    assert_eq!(contents(&page), ["Welcome back."]);
    app.put(
        &format!("{base}/messages/{id}/active_variant"),
        &alice.token,
        json!({"index": 3}),
    )
    .await
    .expect(422);
});

both_backends!(
    variants_switch_the_path_and_bad_input_changes_nothing,
    |app| {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let luna = app.character(&alice, "Luna", false).await;
        let conv = app.ai_chat(&alice, luna).await;
        let other = app.ai_chat(&alice, luna).await;
        let base = format!("/api/v1/conversations/{conv}");
        let sent = app
            .post(
                &format!("{base}/messages"),
                &alice.token,
                json!({"content": "hi"}),
            )
            .await
            .expect(202);
        let trigger = sent["message"]["id"].as_i64().unwrap();
        let first = app
            .store_reply(conv, trigger, "first", MessageStatus::Complete)
            .await;
        let mut jobs = Vec::new();
        for text in ["second", "third"] {
            let accepted = app
                .post(&format!("{base}/regenerate"), &alice.token, json!({}))
                .await
                .expect(202);
            let job = accepted["job_id"].as_str().unwrap().to_owned();
            // Swiping while the variant streams is refused.
            app.put(
                &format!("{base}/messages/{first}/active_variant"),
                &alice.token,
                json!({"index": 0}),
            )
            .await
            .expect(409);
            finish(&app, &job, text).await;
            jobs.push(job);
        }
        let page = app
            .get(&format!("{base}/messages"), &alice.token)
            .await
            .expect(200);
        assert_eq!(contents(&page).last().unwrap(), "third");
        assert_eq!(page["items"][2]["fork"], json!({"index": 2, "count": 3}));

        // Bad input: each a clear 4xx and the path unchanged.
        let other_base = format!("/api/v1/conversations/{other}");
        app.put(
            &format!("{other_base}/messages/{first}/active_variant"),
            &alice.token,
            json!({"index": 0}),
        )
        .await
        .expect(404);
        app.put(
            &format!("{base}/messages/{first}/active_variant"),
            &alice.token,
            json!({"index": 7}),
        )
        .await
        .expect(422);
        app.put(
            &format!("{base}/messages/{first}/active_variant"),
            &bob.token,
            json!({"index": 0}),
        )
        .await
        .expect(404);
        app.post(
            &format!("{base}/messages/{trigger}/continue"),
            &alice.token,
            json!({}),
        )
        .await
        .expect(409);
        app.post(
            &format!("{base}/messages/{first}/continue"),
            &alice.token,
            json!({}),
        )
        .await
        .expect(409);
        let page = app
            .get(&format!("{base}/messages"), &alice.token)
            .await
            .expect(200);
        assert_eq!(contents(&page), ["Hello alice, I am Luna.", "hi", "third"]);

        // Select the first variant: it is on the path again, the others stay stored.
        let selected = app
            .put(
                &format!("{base}/messages/{first}/active_variant"),
                &alice.token,
                json!({"index": 0}),
            )
            .await
            .expect(200);
        assert_eq!(selected["leaf_id"], first);
        let page = app
            .get(&format!("{base}/messages"), &alice.token)
            .await
            .expect(200);
        assert_eq!(contents(&page), ["Hello alice, I am Luna.", "hi", "first"]);
        let events: Vec<ConversationEvent> = app
            .events(conv)
            .await
            .into_iter()
            .map(|p| p.event)
            .collect();
        assert!(events.iter().any(|e| matches!(
            e,
            ConversationEvent::VariantSelected {
                index: 0,
                count: 3,
                ..
            }
        )));
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, ConversationEvent::VariantAdded { .. }))
                .count(),
            2
        );

        // Continue the last reply: the job takes over the reply, which streams.
        let accepted = app
            .post(
                &format!("{base}/messages/{first}/continue"),
                &bob.token,
                json!({}),
            )
            .await
            .expect(404);
        assert_eq!(accepted["code"], "not_found");
        let accepted = app
            .post(
                &format!("{base}/messages/{first}/continue"),
                &alice.token,
                json!({}),
            )
            .await
            .expect(202);
        assert!(accepted["job_id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("cont-{first}-")));
        app.post(
            &format!("{base}/messages/{first}/continue"),
            &alice.token,
            json!({}),
        )
        .await
        .expect(409);
        app.post(&format!("{base}/stop"), &alice.token, json!({}))
            .await
            .expect(202);
    }
);

both_backends!(
    rerun_keeps_both_branches_and_branch_copies_the_path,
    |app| {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let luna = app.character(&alice, "Luna", false).await;
        let conv = app.ai_chat(&alice, luna).await;
        let base = format!("/api/v1/conversations/{conv}");
        let sent = app
            .post(
                &format!("{base}/messages"),
                &alice.token,
                json!({"content": "tell me more"}),
            )
            .await
            .expect(202);
        let asked = sent["message"]["id"].as_i64().unwrap();
        let answer = app
            .store_reply(conv, asked, "old answer", MessageStatus::Complete)
            .await;

        // The owner fixes the AI reply in place.
        let edited = app
            .patch(
                &format!("{base}/messages/{answer}"),
                &alice.token,
                json!({"content": "fixed answer"}),
            )
            .await
            .expect(200);
        assert_eq!(edited["content"], "fixed answer");
        app.patch(
            &format!("{base}/messages/{answer}"),
            &bob.token,
            json!({"content": "x"}),
        )
        .await
        .expect(404);

        app.post(
            &format!("{base}/messages/{asked}/rerun"),
            &bob.token,
            json!({"content": "x"}),
        )
        .await
        .expect(404);
        app.post(
            &format!("{base}/messages/{answer}/rerun"),
            &alice.token,
            json!({"content": "x"}),
        )
        .await
        .expect(403);
        let rerun = app
            .post(
                &format!("{base}/messages/{asked}/rerun"),
                &alice.token,
                json!({"content": "tell me less"}),
            )
            .await
            .expect(202);
        let new_ask = rerun["message"]["id"].as_i64().unwrap();
        assert_eq!(rerun["message"]["fork"], json!({"index": 1, "count": 2}));
        assert_eq!(rerun["job_id"], format!("reply-{new_ask}"));
        let page = app
            .get(&format!("{base}/messages"), &alice.token)
            .await
            .expect(200);
        assert_eq!(contents(&page), ["Hello alice, I am Luna.", "tell me less"]);
        app.store_reply(conv, new_ask, "short answer", MessageStatus::Complete)
            .await;

        // The other branch is still reachable, with its reply.
        app.put(
            &format!("{base}/messages/{new_ask}/active_variant"),
            &alice.token,
            json!({"index": 0}),
        )
        .await
        .expect(200);
        let page = app
            .get(&format!("{base}/messages"), &alice.token)
            .await
            .expect(200);
        assert_eq!(
            contents(&page),
            ["Hello alice, I am Luna.", "tell me more", "fixed answer"]
        );

        // Branch from here: a new conversation with the path up to the message.
        app.post(
            &format!("{base}/branch"),
            &bob.token,
            json!({"message_id": asked}),
        )
        .await
        .expect(404);
        let copy = app
            .post(
                &format!("{base}/branch"),
                &alice.token,
                json!({"message_id": asked}),
            )
            .await
            .expect(201);
        assert_eq!(copy["origin_conversation_id"], conv);
        assert_eq!(copy["origin_message_id"], asked);
        let copied = app
            .get(
                &format!("/api/v1/conversations/{}/messages", copy["id"]),
                &alice.token,
            )
            .await
            .expect(200);
        assert_eq!(
            contents(&copied),
            ["Hello alice, I am Luna.", "tell me more"]
        );
        app.post(
            &format!("{base}/branch"),
            &alice.token,
            json!({"message_id": 999_999}),
        )
        .await
        .expect(404);
    }
);
