//! The mock provider and the context budget helpers.

use std::time::{Duration, Instant};

use llm::{budget, ChatMessage, ChatRequest, Mock};

use crate::helpers::run;

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        model: "echo".into(),
        system: Some("You are Ada.".into()),
        messages: vec![ChatMessage::user(text)],
        ..ChatRequest::default()
    }
}

#[tokio::test]
async fn mock_streams_at_the_configured_speed_and_counts_words() {
    let req = ask("Tell me about the stars tonight");
    let words = Mock::reply_text(&req).split_whitespace().count();
    let mock = Mock::new(100.0);
    let started = Instant::now();
    let got = run(&mock, req).await;
    let elapsed = started.elapsed();
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.deltas.len(), words, "one delta per word");
    let text = got.text();
    assert!(text.contains("Tell me about the stars tonight"), "{text}");
    assert!(text.contains("mock"), "the mock says what it is: {text}");
    let expected = Duration::from_secs_f64(words as f64 / 100.0);
    assert!(
        elapsed >= expected.mul_f64(0.9),
        "{elapsed:?} < {expected:?}"
    );
    assert!(
        elapsed <= expected.mul_f64(2.0) + Duration::from_millis(200),
        "{elapsed:?}"
    );
    let (usage, finish, model) = got.done.unwrap();
    assert_eq!(usage.completion_tokens, words as i64);
    assert_eq!(usage.prompt_tokens, 3 + 6, "system and user words");
    assert_eq!(usage.cached_prompt_tokens, 0);
    assert_eq!(finish.as_deref(), Some("stop"));
    assert_eq!(model, "mock/echo");
}

#[tokio::test]
async fn mock_is_deterministic_and_honours_max_tokens() {
    let mock = Mock::new(0.0);
    let a = run(&mock, ask("hello there")).await.text();
    let b = run(&mock, ask("hello there")).await.text();
    assert_eq!(a, b);
    let mut req = ask("hello there");
    req.max_tokens = Some(3);
    let got = run(&mock, req).await;
    assert_eq!(got.deltas.len(), 3);
    let (usage, finish, _) = got.done.unwrap();
    assert_eq!(usage.completion_tokens, 3);
    assert_eq!(finish.as_deref(), Some("length"));
}

#[tokio::test]
async fn mock_greets_without_a_user_message() {
    let got = run(&Mock::new(0.0), ChatRequest::default()).await;
    assert!(got.text().contains("mock model"), "{}", got.text());
}

#[test]
fn context_window_table() {
    assert_eq!(budget::context_window("openai/gpt-4o-mini"), 128_000);
    assert_eq!(budget::context_window("openai/gpt-4o"), 128_000);
    assert_eq!(budget::context_window("openai/gpt-4"), 8_192);
    assert_eq!(budget::context_window("openai/gpt-4-turbo"), 128_000);
    assert_eq!(
        budget::context_window("anthropic/claude-3-5-haiku-latest"),
        200_000
    );
    assert_eq!(budget::context_window("gemini/gemini-1.5-flash"), 1_048_576);
    assert_eq!(budget::context_window("gemini/gemini-1.5-pro"), 2_097_152);
    assert_eq!(
        budget::context_window("compat/anthropic/claude-3.5-sonnet"),
        200_000
    );
    assert_eq!(budget::context_window("mock/echo"), 32_768);
    assert_eq!(
        budget::context_window("compat/some-unknown-model"),
        budget::DEFAULT_CONTEXT_WINDOW
    );
    assert!(budget::prompt_budget("openai/gpt-4o-mini", 1_000) < 128_000 - 1_000);
    // The estimate never undercounts what OpenAI's encodings spend on digits (the context
    // engine's rule; chars/4 said 2 here, o200k spends 3).
    let digits = "12345678";
    for encoding in [llm::tokens::Encoding::O200k, llm::tokens::Encoding::Cl100k] {
        assert!(budget::estimate_tokens(digits) >= encoding.count(digits));
    }
    assert!(budget::estimate_tokens(digits) <= digits.len());
}
