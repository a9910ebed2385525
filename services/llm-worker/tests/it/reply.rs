//! The end-to-end path on both backends, idempotency, and the failure paths.

use std::time::Duration;

use domain::events::{ConversationEvent, Usage};
use domain::MessageStatus;
use testkit::providers::{Behavior, FakeProvider, ProviderKind};
use testkit::services::{Backend, BACKENDS};

use crate::helpers::{completed, deltas, failed, kinds, started_attempts, use_fake, Harness};

#[tokio::test]
async fn send_streams_deltas_stores_the_reply_and_charges_usage_on_both_backends() {
    for backend in BACKENDS {
        let h = Harness::new(backend).await;
        let fake = FakeProvider::start(ProviderKind::OpenAi).await;
        fake.set_default(Behavior::reply(&["Hel", "lo ", "Ali", "ce!"]).with_usage(120, 4, 40));
        let mut settings = h.settings();
        use_fake(&mut settings, &fake);
        let worker = h.start_worker(&settings);

        let job = h.send("Hi Ada!").await;
        let events = h.wait_finished(&job.job_id).await;

        let types = kinds(&events);
        assert_eq!(
            types.first().map(String::as_str),
            Some("generation.started"),
            "{types:?}"
        );
        assert_eq!(
            types.last().map(String::as_str),
            Some("message.completed"),
            "{types:?}"
        );
        assert_eq!(started_attempts(&events, &job.job_id), [1]);
        let ConversationEvent::GenerationStarted {
            model,
            character_id,
            ..
        } = &events[0]
        else {
            unreachable!()
        };
        assert_eq!(model, "openai/gpt-4o-mini");
        assert_eq!(*character_id, Some(h.character.id));
        let texts = deltas(&events, &job.job_id, 1);
        assert_eq!(texts.concat(), "Hello Alice!");
        assert_eq!(
            texts[0], "Hel",
            "the first token is flushed on its own, at once"
        );

        let done = completed(&events, &job.job_id);
        assert_eq!(done.len(), 1);
        let (message, usage) = done[0];
        let expected = Usage {
            prompt_tokens: 120,
            completion_tokens: 4,
            cached_prompt_tokens: 40,
        };
        assert_eq!(*usage, expected);
        assert_eq!(message.status, MessageStatus::Complete);
        assert_eq!(message.content, "Hello Alice!");
        assert_eq!(message.job_id.as_deref(), Some(job.job_id.as_str()));
        assert_eq!(message.reply_to_id, job.trigger_message_id);
        assert_eq!(message.character_id, Some(h.character.id));
        assert_eq!(message.model.as_deref(), Some("openai/gpt-4o-mini"));
        assert_eq!(
            (message.prompt_tokens, message.completion_tokens),
            (Some(120), Some(4))
        );

        let stored = h.reply(&job.job_id).await.expect("stored reply");
        assert_eq!(stored.status, MessageStatus::Complete);
        assert_eq!(stored.content, "Hello Alice!");
        assert_eq!(
            (stored.prompt_tokens, stored.completion_tokens),
            (Some(120), Some(4))
        );
        assert_eq!(stored.id, message.id);

        let usage = h.usage().await;
        assert_eq!(usage.len(), 1, "{backend:?}");
        assert_eq!(usage[0].model, "openai/gpt-4o-mini");
        assert_eq!(
            (
                usage[0].prompt_tokens,
                usage[0].completion_tokens,
                usage[0].messages
            ),
            (120, 4, 1)
        );
        h.wait_acked().await;
        worker.shutdown().await;
    }
}

#[tokio::test]
async fn deltas_are_coalesced_into_batches() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    let chunks: Vec<String> = (0..40).map(|i| format!("t{i} ")).collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    // 40 tokens over ~200 ms: a 30 ms window makes a handful of events, not 40.
    fake.set_default(Behavior::reply(&refs).with_delays(Duration::ZERO, Duration::from_millis(5)));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let worker = h.start_worker(&settings);
    let job = h.send("Count for me").await;
    let events = h.wait_finished(&job.job_id).await;
    let texts = deltas(&events, &job.job_id, 1);
    assert_eq!(texts.concat(), chunks.concat());
    assert_eq!(texts[0], "t0 ");
    assert!(
        texts.len() >= 3 && texts.len() <= 15,
        "expected a few coalesced batches, got {}: {texts:?}",
        texts.len()
    );
    worker.shutdown().await;
}

#[tokio::test]
async fn the_same_job_delivered_twice_makes_one_reply_and_one_charge() {
    let h = Harness::new(Backend::Postgres).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.set_default(
        Behavior::reply(&["Once", " only"]).with_delays(Duration::from_millis(50), Duration::ZERO),
    );
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let worker = h.start_worker(&settings);
    let message = h.user_message("Hello?").await;
    let job = h.reply_job(message.id);
    // A retried enqueue: two stream entries, one job id.
    h.bus.enqueue_job(&job).await.unwrap();
    h.bus.enqueue_job(&job).await.unwrap();
    h.wait_finished(&job.job_id).await;
    h.wait_acked().await;
    assert_eq!(completed(&h.events().await, &job.job_id).len(), 1);
    // And once more after it finished (a late redelivery, e.g. the worker died between its
    // announcement and its ack): no second generation, and no second announcement either
    // (issue 14: "finished replies were announced twice").
    h.bus.enqueue_job(&job).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.wait_acked().await;

    let events = h.events().await;
    let finals = completed(&events, &job.job_id);
    assert_eq!(finals.len(), 1, "announced once: {:?}", kinds(&events));
    assert!(
        finals
            .iter()
            .all(|(m, _)| m.id == finals[0].0.id && m.content == "Once only"),
        "the announcement is the stored reply"
    );
    assert_eq!(
        fake.request_count(),
        1,
        "the duplicates never reached the provider"
    );
    let replies = h.assistant_messages().await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].content, "Once only");
    let usage = h.usage().await;
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].messages, 1, "charged once");
    worker.shutdown().await;
}

#[tokio::test]
async fn a_reply_stored_by_a_delivery_that_died_before_publishing_is_announced_on_redelivery() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.set_default(Behavior::reply(&["never", " asked"]));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let message = h.user_message("Hello?").await;
    let job = h.reply_job(message.id);
    // What an earlier delivery left behind when it crashed between its commit and its publish.
    let (conversation, character, job_id) = (h.conversation, h.character.id, job.job_id.clone());
    let stored = db::run(&h.db, move |c| {
        db::messages::upsert_assistant_reply(
            c,
            db::messages::AssistantReply {
                conversation_id: conversation,
                character_id: Some(character),
                job_id,
                reply_to_id: Some(message.id),
                content: "Stored before the crash".into(),
                status: MessageStatus::Complete,
                model: Some("openai/gpt-4o-mini".into()),
                prompt_tokens: Some(12),
                completion_tokens: Some(4),
            },
        )
    })
    .await
    .unwrap();

    let worker = h.start_worker(&settings);
    h.bus.enqueue_job(&job).await.unwrap();
    let events = h.wait_finished(&job.job_id).await;
    let finals = completed(&events, &job.job_id);
    assert_eq!(finals.len(), 1, "{:?}", kinds(&events));
    let (announced, usage) = finals[0];
    assert_eq!(
        (announced.id, announced.content.as_str()),
        (stored.id, "Stored before the crash")
    );
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (12, 4));
    assert_eq!(fake.request_count(), 0, "nothing was generated again");
    assert_eq!(h.assistant_messages().await.len(), 1);
    worker.shutdown().await;
}

#[tokio::test]
async fn a_non_retryable_error_stores_a_failed_reply_and_acks() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.set_default(Behavior::status(401));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let worker = h.start_worker(&settings);
    let job = h.send("Hi").await;
    let events = h.wait_finished(&job.job_id).await;
    let failed = failed(&events, &job.job_id);
    assert_eq!(
        failed,
        [(
            "The AI provider rejected the configured API key.".to_owned(),
            false
        )]
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, ConversationEvent::Completed { .. })));
    let stored = h.reply(&job.job_id).await.unwrap();
    assert_eq!(stored.status, MessageStatus::Failed);
    h.wait_acked().await;
    assert!(h.usage().await.is_empty(), "nothing charged");
    assert_eq!(fake.request_count(), 1, "not retried");
    worker.shutdown().await;
}

#[tokio::test]
async fn a_persistent_server_error_is_retried_up_to_the_cap_then_reported_as_unavailable() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.set_default(Behavior::status(500));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    settings.llm.max_upstream_attempts = 2;
    let worker = h.start_worker(&settings);
    let job = h.send("Hi").await;
    let events = h.wait_finished(&job.job_id).await;
    // One request per run (no in-call retries in these settings), the second run scheduled.
    assert_eq!(started_attempts(&events, &job.job_id).len(), 2);
    assert_eq!(fake.request_count(), 2);
    let failures: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::Failed {
                retryable, code, ..
            } => Some((*retryable, *code)),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        [(true, Some(domain::events::FailureCode::Unavailable))]
    );
    assert_eq!(
        h.reply(&job.job_id).await.unwrap().status,
        MessageStatus::Failed
    );
    assert!(h.bus.dead_letters(10).await.unwrap().is_empty());
    h.wait_acked().await;
    worker.shutdown().await;
}

#[tokio::test]
async fn a_reply_failing_mid_stream_is_redelivered_then_dead_lettered_with_a_failed_event() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    // Part of the reply reaches clients each time: the job is redelivered as a new attempt.
    fake.set_default(Behavior::mid_stream_error(&["Par"]));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    settings.llm.max_deliveries = 2;
    settings.llm.reclaim_idle_ms = 300;
    settings.llm.reclaim_interval_ms = 50;
    let worker = h.start_worker(&settings);
    let job = h.send("Hi").await;
    let events = h.wait_finished(&job.job_id).await;

    assert_eq!(
        started_attempts(&events, &job.job_id),
        [1, 2],
        "{:?}",
        kinds(&events)
    );
    assert_eq!(fake.request_count(), 2, "one provider call per delivery");
    let failed = failed(&events, &job.job_id);
    assert_eq!(failed.len(), 1);
    assert!(failed[0].0.contains("after 2 attempts"), "{failed:?}");
    assert!(failed[0].1);
    let stored = h.reply(&job.job_id).await.unwrap();
    assert_eq!(stored.status, MessageStatus::Failed);
    let dead = h.bus.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].job.as_ref().map(|j| j.job_id.as_str()),
        Some(job.job_id.as_str())
    );
    h.wait_acked().await;
    worker.shutdown().await;
}

#[tokio::test]
async fn a_transient_error_then_success_on_redelivery() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    // Fails mid-stream after two tokens (retryable), then answers in full.
    fake.push(Behavior::mid_stream_error(&["Par", "tial"]));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    settings.llm.reclaim_idle_ms = 300;
    settings.llm.reclaim_interval_ms = 50;
    let worker = h.start_worker(&settings);
    let job = h.send("Hi").await;
    let events = h.wait_finished(&job.job_id).await;
    assert_eq!(started_attempts(&events, &job.job_id), [1, 2]);
    assert_eq!(deltas(&events, &job.job_id, 1).concat(), "Partial");
    assert_eq!(
        deltas(&events, &job.job_id, 2).concat(),
        "Hello from the fake"
    );
    let done = completed(&events, &job.job_id);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0.content, "Hello from the fake");
    assert_eq!(h.assistant_messages().await.len(), 1);
    worker.shutdown().await;
}
