//! The context engine through the worker (issue 16): the persona, a character's lorebook, the
//! Author's Note and the chat settings reach each provider in its own request format, in the
//! pipeline's order, and the reply's context report is stored beside it.

use db::chat_settings::ChatSettings;
use domain::context::{ContextReport, SectionKind};
use serde_json::{json, Value};
use testkit::providers::{Behavior, FakeProvider, ProviderKind};
use testkit::services::Backend;

use crate::helpers::{completed, use_fake, Harness};

const BOOK: &str = r#"{
  "scan_depth": 2,
  "entries": [
    {"keys": ["castle"], "content": "The castle of {{char}} stands on a hill."},
    {"keys": ["/cast(le)?/i"], "content": "Its gate opens at dawn.", "position": "after_char"},
    {"keys": ["castle"], "content": "Guards watch {{user}} closely.", "extensions": {"position": 4, "depth": 1}},
    {"keys": ["dragon"], "content": "Never sent."}
  ]
}"#;

/// One reply with every section in play; the provider's request body and the stored report.
async fn reply_with_context(backend: Backend, kind: ProviderKind) -> (Value, ContextReport) {
    let h = Harness::new(backend).await;
    let fake = FakeProvider::start(kind).await;
    fake.set_default(Behavior::reply(&["Welcome."]).with_usage(50, 2, 0));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let (user, character, conversation) = (h.user, h.character.id, h.conversation);
    db::run(&h.db, move |c| {
        db::personas::insert(c, user, "민지", "{{user}} is a student from Seoul.", None)?;
        db::lorebooks::put_for_character(c, user, character, "Ada's world", BOOK)?;
        db::chat_settings::put(
            c,
            conversation,
            user,
            &ChatSettings {
                author_note: "Keep {{char}} mysterious.".into(),
                author_note_depth: 0,
                author_note_interval: 1,
                model: None,
                temperature: Some(0.5),
                top_p: Some(0.25),
                max_tokens: Some(100),
            },
        )
    })
    .await
    .unwrap();
    let worker = h.start_worker(&settings);
    let job = h.send("Tell me about the castle").await;
    let events = h.wait_finished(&job.job_id).await;
    worker.shutdown().await;
    let done = completed(&events, &job.job_id);
    assert_eq!(done.len(), 1, "{events:#?}");
    let reply = done[0].0.id;
    let stored = db::run(&h.db, move |c| db::contexts::find(c, reply))
        .await
        .unwrap()
        .expect("a context report is stored with the reply");
    let report: ContextReport = serde_json::from_str(&stored).unwrap();
    (fake.requests()[0]["body"].clone(), report)
}

fn assert_in_order(text: &str, parts: &[&str]) {
    let at: Vec<usize> = parts
        .iter()
        .map(|p| {
            text.find(p)
                .unwrap_or_else(|| panic!("{p:?} missing from {text}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "out of order: {text}");
}

const SYSTEM_ORDER: &[&str] = &[
    "About 민지: 민지 is a student from Seoul.",
    "The castle of Ada stands on a hill.",
    "You are Ada. Reply in character.",
    "Ada is a cheerful inventor who adores 민지.",
    "Its gate opens at dawn.",
];

fn check_report(report: &ContextReport) {
    let kinds: Vec<SectionKind> = report.sections.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            SectionKind::Persona,
            SectionKind::LoreBeforeChar,
            SectionKind::Card,
            SectionKind::Examples,
            SectionKind::LoreAfterChar,
            SectionKind::History,
            SectionKind::NewMessage,
            SectionKind::LoreAtDepth,
            SectionKind::AuthorNote,
            SectionKind::PostHistory,
        ]
    );
    assert!(report
        .sections
        .iter()
        .all(|s| s.tokens > 0 || s.kind == SectionKind::History));
    let fired: Vec<(u32, Option<&str>)> = report
        .lore
        .iter()
        .map(|h| (h.entry, h.key.as_deref()))
        .collect();
    assert_eq!(
        fired,
        [
            (0, Some("castle")),
            (1, Some("/cast(le)?/i")),
            (2, Some("castle"))
        ]
    );
    assert_eq!(report.lore[0].lorebook, "Ada's world");
    assert!(report.lore_dropped.is_empty());
    assert_eq!(report.persona.as_ref().unwrap().name, "민지");
    let note = report.author_note.as_ref().unwrap();
    assert_eq!(
        (note.text.as_str(), note.inserted),
        ("Keep Ada mysterious.", true)
    );
    assert_eq!(report.settings.temperature, Some(0.5));
    assert_eq!(report.settings.top_p, Some(0.25));
    assert_eq!(report.settings.max_tokens, 100);
    assert!(report.prompt_tokens > 0 && report.prompt_tokens <= report.budget_tokens);
}

async fn openai_gets_every_section(backend: Backend) {
    let (body, report) = reply_with_context(backend, ProviderKind::OpenAi).await;
    assert_eq!(
        report.encoding, "o200k_base",
        "gpt-4o-mini is counted by its own encoding"
    );
    check_report(&report);
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.25);
    assert_eq!(body["max_completion_tokens"], 100);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert_in_order(messages[0]["content"].as_str().unwrap(), SYSTEM_ORDER);
    assert_eq!(
        messages[1..],
        [
            json!({"role": "user", "content": "[Start a new chat]"}),
            json!({"role": "system", "content": "Guards watch 민지 closely."}),
            json!({"role": "user", "content": "Tell me about the castle"}),
            json!({"role": "system", "content": "Keep Ada mysterious."}),
            json!({"role": "system", "content": "Keep replies short."}),
        ]
    );
}

#[tokio::test]
async fn openai_gets_every_section_in_order_postgres() {
    openai_gets_every_section(Backend::Postgres).await;
}

#[tokio::test]
async fn openai_gets_every_section_in_order_sqlite() {
    openai_gets_every_section(Backend::Sqlite).await;
}

#[tokio::test]
async fn anthropic_gets_every_section_in_its_format() {
    let (body, report) = reply_with_context(Backend::Sqlite, ProviderKind::Anthropic).await;
    assert_eq!(report.encoding, "estimate");
    check_report(&report);
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.25);
    assert_eq!(body["max_tokens"], 100);
    assert_in_order(body["system"].as_str().unwrap(), SYSTEM_ORDER);
    // In-history system text rides in the user turn, in place.
    let text = body["messages"].to_string();
    assert_in_order(
        &text,
        &[
            "Guards watch 민지 closely.",
            "Tell me about the castle",
            "Keep Ada mysterious.",
            "Keep replies short.",
        ],
    );
}

#[tokio::test]
async fn gemini_gets_every_section_in_its_format() {
    let (body, report) = reply_with_context(Backend::Sqlite, ProviderKind::Gemini).await;
    assert_eq!(report.encoding, "estimate");
    check_report(&report);
    assert_eq!(
        body["generationConfig"],
        json!({"maxOutputTokens": 100, "temperature": 0.5, "topP": 0.25})
    );
    assert_in_order(
        body["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap(),
        SYSTEM_ORDER,
    );
    assert_in_order(
        &body["contents"].to_string(),
        &[
            "Guards watch 민지 closely.",
            "Tell me about the castle",
            "Keep Ada mysterious.",
            "Keep replies short.",
        ],
    );
}
