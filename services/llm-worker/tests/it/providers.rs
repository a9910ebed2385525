//! Each provider wired through the worker, and what the prompt it receives looks like.

use domain::events::ConversationEvent;
use domain::MessageStatus;
use serde_json::{json, Value};
use testkit::providers::{Behavior, FakeProvider, ProviderKind};
use testkit::services::Backend;

use crate::helpers::{completed, deltas, use_fake, Harness};

async fn reply_through(kind: ProviderKind) -> (Harness, FakeProvider, String) {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(kind).await;
    fake.set_default(Behavior::reply(&["Hi ", "Alice"]).with_usage(30, 2, 0));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let worker = h.start_worker(&settings);
    let job = h.send("Hello Ada").await;
    let events = h.wait_finished(&job.job_id).await;
    assert_eq!(deltas(&events, &job.job_id, 1).concat(), "Hi Alice");
    let done = completed(&events, &job.job_id);
    assert_eq!(done.len(), 1, "{events:#?}");
    assert_eq!(done[0].0.status, MessageStatus::Complete);
    assert_eq!(
        (done[0].1.prompt_tokens, done[0].1.completion_tokens),
        (30, 2)
    );
    worker.shutdown().await;
    let model = done[0].0.model.clone().unwrap();
    (h, fake, model)
}

#[tokio::test]
async fn openai_receives_the_card_and_the_message() {
    let (h, fake, model) = reply_through(ProviderKind::OpenAi).await;
    assert_eq!(model, "openai/gpt-4o-mini");
    let sent = &fake.requests()[0];
    assert_eq!(sent["path"], "/v1/chat/completions");
    let body = &sent["body"];
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["max_completion_tokens"], 1024);
    let messages = body["messages"].as_array().unwrap();
    let system = messages[0]["content"].as_str().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert!(
        system.starts_with("You are Ada. Reply in character."),
        "{system}"
    );
    assert!(
        system.contains("Ada is a cheerful inventor who adores Alice."),
        "{system}"
    );
    assert!(system.contains("Ada's personality: curious, kind"));
    assert!(system.contains("Scenario: Ada's workshop."));
    assert!(system.contains("Example dialogue:\n<START>\nAlice: hi\nAda: Hello, friend!"));
    assert_eq!(
        messages[1..],
        [
            json!({ "role": "user", "content": "Hello Ada" }),
            json!({ "role": "system", "content": "Keep replies short." }),
        ]
    );
    assert_eq!(h.usage().await[0].model, "openai/gpt-4o-mini");
}

#[tokio::test]
async fn anthropic_through_the_worker() {
    let (_h, fake, model) = reply_through(ProviderKind::Anthropic).await;
    assert_eq!(model, "anthropic/claude-3-5-haiku-latest");
    let sent = &fake.requests()[0];
    assert_eq!(sent["path"], "/v1/messages");
    let body = &sent["body"];
    assert_eq!(body["model"], "claude-3-5-haiku-latest");
    let system = body["system"].as_str().unwrap();
    assert!(system.starts_with("You are Ada."), "{system}");
    assert!(
        !system.contains("Keep replies short."),
        "post-history instructions are not folded into the system prompt: {system}"
    );
    // After the history: a last block of the final user turn (roles must alternate).
    assert_eq!(
        body["messages"],
        json!([{ "role": "user", "content": [
            { "type": "text", "text": "Hello Ada" },
            { "type": "text", "text": "Keep replies short." },
        ] }])
    );
}

#[tokio::test]
async fn gemini_through_the_worker() {
    let (_h, fake, model) = reply_through(ProviderKind::Gemini).await;
    assert_eq!(model, "gemini/gemini-1.5-flash");
    let sent = &fake.requests()[0];
    assert!(
        sent["path"]
            .as_str()
            .unwrap()
            .contains("gemini-1.5-flash:streamGenerateContent"),
        "{sent}"
    );
    let body = &sent["body"];
    let system = body["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(system.starts_with("You are Ada."), "{system}");
    assert!(
        !system.contains("Keep replies short."),
        "post-history instructions are not folded into the system prompt: {system}"
    );
    // After the history: a last part of the final user turn (roles must alternate).
    assert_eq!(
        body["contents"],
        json!([{ "role": "user", "parts": [
            { "text": "Hello Ada" },
            { "text": "Keep replies short." },
        ] }])
    );
}

#[tokio::test]
async fn without_keys_the_mock_answers() {
    let h = Harness::new(Backend::Sqlite).await;
    let worker = h.start_worker(&h.settings());
    let job = h.send("Tell me about gears").await;
    let events = h.wait_finished(&job.job_id).await;
    let done = completed(&events, &job.job_id);
    assert_eq!(done.len(), 1, "{events:#?}");
    let (message, usage) = done[0];
    assert_eq!(message.model.as_deref(), Some("mock/echo"));
    assert!(
        message.content.contains("Tell me about gears"),
        "{}",
        message.content
    );
    assert!(
        message.content.contains("mock"),
        "the mock announces itself"
    );
    assert!(usage.completion_tokens > 0 && usage.prompt_tokens > 0);
    assert_eq!(deltas(&events, &job.job_id, 1).concat(), message.content);
    worker.shutdown().await;
}

#[tokio::test]
async fn character_preference_then_job_model_then_default() {
    let mut card = crate::helpers::ada();
    card.model_preference = Some("anthropic/claude-3-5-haiku-latest".into());
    let h = Harness::with_character(Backend::Sqlite, card).await;
    let openai = FakeProvider::start(ProviderKind::OpenAi).await;
    let mut settings = h.settings();
    use_fake(&mut settings, &openai);
    // Anthropic is not configured: the preference is skipped, the job's model is used.
    settings
        .llm
        .aliases
        .insert("smart".into(), "openai/gpt-4o".into());
    let worker = h.start_worker(&settings);
    let message = h.user_message("Hi").await;
    let mut job = h.reply_job(message.id);
    job.model = Some("smart".into());
    h.bus.enqueue_job(&job).await.unwrap();
    let events = h.wait_finished(&job.job_id).await;
    let started: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::GenerationStarted { model, .. } => Some(model.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["openai/gpt-4o"], "alias resolved by the router");
    assert_eq!(openai.requests()[0]["body"]["model"], Value::from("gpt-4o"));
    worker.shutdown().await;
}
