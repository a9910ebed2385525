//! The overview reads the roll-ups the senders and the worker maintain.

use std::sync::Arc;

use chrono::Duration;
use db::conversations::NewConversationRow;
use db::stats::GenerationOutcome;
use domain::{ConversationKind, MemberRole, MessageId};

use crate::helpers::today;
use testkit::both_backends;

both_backends!(overview_of_a_period, |app| {
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let seraphina = app.character(root.id, "Seraphina").await;
    let grumpy = app.character(root.id, "Grumpy").await;
    let t = today();
    let y = t - Duration::days(1);
    let (a, b) = (alice.id, bob.id);
    db::run(&app.db, move |c| {
        db::stats::record_user_message(c, a, Some(seraphina), y, MessageId(1))?;
        db::stats::record_user_message(c, a, Some(seraphina), t, MessageId(2))?;
        db::stats::record_user_message(c, b, Some(grumpy), t, MessageId(3))?;
        db::stats::record_user_message(c, b, None, t, MessageId(4))
    })
    .await
    .unwrap();
    // 100 completed generations, 1..=100 s, plus a failure and a cancellation.
    for i in 1..=100 {
        app.generation(
            &format!("ok-{i}"),
            alice.id,
            Some(seraphina),
            "openai/gpt-4o",
            t,
            GenerationOutcome::Ok,
            Some(i * 1000),
            (10, 1),
        )
        .await;
    }
    app.generation(
        "ok-1",
        alice.id,
        Some(seraphina),
        "openai/gpt-4o",
        t,
        GenerationOutcome::Ok,
        Some(1),
        (10, 1),
    )
    .await; // a redelivered job: ignored
    app.generation(
        "f",
        bob.id,
        None,
        "anthropic/claude",
        y,
        GenerationOutcome::Failed,
        Some(500),
        (0, 0),
    )
    .await;
    app.generation(
        "c",
        bob.id,
        Some(grumpy),
        "openai/gpt-4o-mini",
        t,
        GenerationOutcome::Cancelled,
        None,
        (3, 2),
    )
    .await;

    let o = app
        .get(
            &format!(
                "/api/v1/admin/stats/overview?from={}&to={t}",
                t - Duration::days(6)
            ),
            &root.token,
        )
        .await
        .expect(200);
    assert_eq!(o["days"], 7);
    assert_eq!(o["users"]["total"], 3);
    assert_eq!(o["users"]["new"], 3);
    assert_eq!(o["users"]["active"], 2);
    assert_eq!(o["users"]["monthly_active"], 2);
    assert_eq!(o["messages"]["user"], 4);
    assert_eq!(o["messages"]["ai"], 100);
    assert_eq!(o["messages"]["total"], 104);
    assert_eq!(o["tokens"]["prompt"], 1003);
    assert_eq!(o["tokens"]["total"], 1105);
    assert_eq!(o["generations"]["failed"], 1);
    assert_eq!(o["generations"]["cancelled"], 1);
    assert_eq!(o["generations"]["total"], 102);
    let daily = o["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 7);
    assert_eq!(daily[6]["day"], t.to_string());
    assert_eq!(daily[6]["user_messages"], 3);
    assert_eq!(daily[6]["active_users"], 2);
    assert_eq!(daily[6]["new_users"], 3);
    assert_eq!(daily[5]["active_users"], 2, "alice sent, bob's job failed");
    assert_eq!(daily[5]["failed"], 1);
    assert_eq!(daily[0]["user_messages"], 0);
    assert_eq!(o["users"]["daily_active_avg"], 0.57);

    let latency = &o["latency_ms"];
    assert_eq!(latency["samples"], 101);
    let p50 = latency["p50"].as_f64().unwrap();
    let p99 = latency["p99"].as_f64().unwrap();
    assert!((45_000.0..=56_000.0).contains(&p50), "p50 {p50}");
    assert!((92_000.0..=104_000.0).contains(&p99), "p99 {p99}");

    let models: Vec<(&str, &str, i64)> = o["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["model"].as_str().unwrap(),
                m["provider"].as_str().unwrap(),
                m["generations"]["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        models,
        [
            ("anthropic/claude", "anthropic", 1),
            ("openai/gpt-4o", "openai", 100),
            ("openai/gpt-4o-mini", "openai", 1),
        ]
    );
    assert_eq!(o["by_model"][1]["latency_ms"]["samples"], 100);
    let providers: Vec<(&str, i64, i64)> = o["by_provider"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["provider"].as_str().unwrap(),
                p["generations"]["total"].as_i64().unwrap(),
                p["tokens"]["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(providers, [("anthropic", 1, 0), ("openai", 101, 1105)]);
    assert_eq!(o["top_characters"][0]["name"], "Seraphina");
    assert_eq!(o["top_characters"][0]["messages"], 102);
    assert_eq!(o["top_characters"][1]["name"], "Grumpy");
    assert_eq!(
        o["top_characters"][1]["messages"], 1,
        "a cancelled reply does not count"
    );

    let one = app
        .get(
            &format!("/api/v1/admin/stats/overview?from={y}&to={y}&top=1"),
            &root.token,
        )
        .await
        .expect(200);
    assert_eq!(one["messages"]["user"], 1);
    assert_eq!(one["users"]["monthly_active"], 2, "MAU looks back 30 days");
    assert_eq!(one["top_characters"].as_array().unwrap().len(), 1);
    let default = app
        .get("/api/v1/admin/stats/overview", &root.token)
        .await
        .expect(200);
    assert_eq!(default["days"], 30);
    assert_eq!(default["to"], t.to_string());

    for bad in [
        "from=2026-1-1".to_owned(),
        "from=2026-01-01&to=2025-12-31".to_owned(),
        "from=2020-01-01&to=2026-01-01".to_owned(),
        "to=tomorrow".to_owned(),
        "top=0".to_owned(),
        "top=51".to_owned(),
        "group_by=day".to_owned(),
        format!("from={t}T25:00:00Z"),
    ] {
        let body = app
            .get(&format!("/api/v1/admin/stats/overview?{bad}"), &root.token)
            .await
            .expect(422);
        assert_eq!(body["code"], "validation", "{bad}");
    }
});

both_backends!(messages_sent_through_chat_are_counted_once, |app| {
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let character = app.character(root.id, "Seraphina").await;
    let owner = alice.id;
    let conversation = db::run(&app.db, move |c| {
        let mut new = NewConversationRow::new(ConversationKind::AiChat, Some(owner));
        new.character_id = Some(character);
        db::conversations::insert_with_members(c, new, &[(owner, MemberRole::Owner)])
    })
    .await
    .unwrap()
    .id;
    let ctx = chat::ChatContext {
        db: app.db.clone(),
        bus: app.bus.clone(),
        settings: Arc::new(app.env.settings.clone()),
    };
    let actor = chat::Actor {
        id: alice.id,
        username: "alice".into(),
        is_admin: false,
    };
    let input = chat::messages::SendInput {
        content: "hello".into(),
        client_id: Some("c-1".into()),
        ..Default::default()
    };
    let first = chat::messages::send(&ctx, &actor, conversation, input.clone())
        .await
        .unwrap();
    let retry = chat::messages::send(&ctx, &actor, conversation, input)
        .await
        .unwrap();
    assert!(first.created && !retry.created);

    let o = app
        .get("/api/v1/admin/stats/overview", &root.token)
        .await
        .expect(200);
    assert_eq!(o["messages"]["user"], 1, "a retried send counts once");
    assert_eq!(o["users"]["active"], 1);
    assert_eq!(o["top_characters"][0]["character_id"], character.0);
    let users = app
        .get("/api/v1/admin/users?sort=messages_month", &root.token)
        .await
        .expect(200);
    assert_eq!(users["items"][0]["username"], "alice");
    assert_eq!(users["items"][0]["messages_month"], 1);
});
