//! What history reaches the provider: trimmed to the model's context window (examples first,
//! then the oldest messages), without deleted, failed or empty cancelled replies.

use domain::MessageStatus;
use serde_json::Value;
use testkit::providers::{FakeProvider, ProviderKind};
use testkit::services::Backend;

use crate::helpers::{use_fake, Harness};

fn sent_messages(fake: &FakeProvider) -> Vec<(String, String)> {
    fake.requests()[0]["body"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_long_history_is_trimmed_to_a_small_context_window() {
    let mut card = crate::helpers::ada();
    // Two example blocks of ~250 tokens each.
    card.example_dialogue = format!(
        "<START>\n{{{{user}}}}: first example {}\n<START>\n{{{{user}}}}: second example {}",
        "e".repeat(1000),
        "f".repeat(1000)
    );
    let h = Harness::with_character(Backend::Postgres, card).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    // gpt-4 has an 8192-token window: 8192 - 10% - 1024 for the reply = 6349 for the prompt.
    settings.llm.default_model = "openai/gpt-4".into();
    // 40 messages of ~300 tokens: ~12k tokens of history, about half fits.
    for i in 0..20 {
        h.user_message(&format!("user {i:02} {}", "u".repeat(1200)))
            .await;
        h.ai_message(
            &format!("ada {i:02} {}", "a".repeat(1200)),
            MessageStatus::Complete,
        )
        .await;
    }
    let worker = h.start_worker(&settings);
    let job = h.send("And now?").await;
    h.wait_finished(&job.job_id).await;
    worker.shutdown().await;

    let body = &fake.requests()[0]["body"];
    assert_eq!(body["model"], "gpt-4");
    let messages = sent_messages(&fake);
    let system = &messages[0].1;
    assert!(system.starts_with("You are Ada."));
    assert!(
        !system.contains("example"),
        "examples are trimmed before any history"
    );
    // The new message and post-history instructions close the prompt.
    let n = messages.len();
    assert_eq!(messages[n - 2], ("user".into(), "And now?".into()));
    assert_eq!(
        messages[n - 1],
        ("system".into(), "Keep replies short.".into())
    );
    let history: Vec<&str> = messages[1..n - 2].iter().map(|(_, c)| c.as_str()).collect();
    assert!(
        history.len() < 40,
        "some history dropped: {}",
        history.len()
    );
    assert!(
        history.len() >= 16,
        "as much as fits is kept: {}",
        history.len()
    );
    // The newest survive, the oldest went.
    assert!(history.last().unwrap().starts_with("ada 19 "));
    assert!(!history.iter().any(|c| c.starts_with("user 00 ")));
    // Contiguous: what is kept is a suffix of the conversation.
    let first_kept = history.iter().position(|c| !c.starts_with('[')).unwrap();
    let expected_suffix: Vec<String> = (0..20)
        .flat_map(|i| [format!("user {i:02} "), format!("ada {i:02} ")])
        .collect();
    let tail = &expected_suffix[expected_suffix.len() - (history.len() - first_kept)..];
    for (got, want) in history[first_kept..].iter().zip(tail) {
        assert!(got.starts_with(want.as_str()), "{got:.12} vs {want}");
    }
    let chars: usize = messages.iter().map(|(_, c)| c.chars().count()).sum();
    assert!(
        chars / 4 <= 6349,
        "within the prompt budget: ~{} tokens",
        chars / 4
    );
}

#[tokio::test]
async fn history_skips_deleted_failed_and_empty_cancelled_replies() {
    let h = Harness::new(Backend::Sqlite).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    h.ai_message("*waves* Welcome to the workshop!", MessageStatus::Complete)
        .await;
    h.user_message("first question").await;
    h.ai_message("", MessageStatus::Cancelled).await;
    h.ai_message("half an answ", MessageStatus::Cancelled).await;
    let gone = h.user_message("deleted question").await;
    db::run(&h.db, move |c| db::messages::soft_delete(c, gone.id))
        .await
        .unwrap();
    h.ai_message("broken", MessageStatus::Failed).await;
    let worker = h.start_worker(&settings);
    let job = h.send("second question").await;
    h.wait_finished(&job.job_id).await;
    worker.shutdown().await;

    let messages = sent_messages(&fake);
    let turns: Vec<(&str, &str)> = messages[1..]
        .iter()
        .map(|(r, c)| (r.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        turns,
        [
            ("user", "[Start a new chat]"),
            ("assistant", "*waves* Welcome to the workshop!"),
            ("user", "first question"),
            ("assistant", "half an answ"),
            ("user", "second question"),
            ("system", "Keep replies short."),
        ]
    );
    assert_eq!(
        fake.requests()[0]["body"]["model"],
        Value::from("gpt-4o-mini")
    );
}
