#![allow(clippy::unwrap_used)]
use super::*;
use domain::lorebook::Lorebook;
use serde_json::json;

fn card() -> Card {
    Card {
        name: "Ada".into(),
        description: "{{char}} is an inventor who likes {{User}}.".into(),
        personality: "cheerful".into(),
        scenario: "A workshop.".into(),
        system_prompt: String::new(),
        example_dialogue:
            "<START>\n{{user}}: hi\n{{char}}: hello!\n<START>\n<USER>: bye\n<BOT>: see you".into(),
        post_history_instructions: "Answer as {{char}} in one paragraph.".into(),
    }
}

fn input(history: Vec<ChatMessage>) -> PromptInput {
    PromptInput {
        common: vec!["Be kind.".into(), "Never break the fourth wall.".into()],
        card: Some(card()),
        user_name: "Bob".into(),
        history,
        new_message: ChatMessage::user("What are you building?"),
        sampling: Sampling {
            max_tokens: 256,
            ..Sampling::default()
        },
        ..PromptInput::default()
    }
}

fn counter() -> &'static TokenCounter {
    static COUNTER: std::sync::OnceLock<TokenCounter> = std::sync::OnceLock::new();
    COUNTER.get_or_init(TokenCounter::default)
}

fn budget(tokens: usize) -> Budget<'static> {
    Budget {
        model_id: "mock/test",
        encoding: Encoding::Estimate,
        counter: counter(),
        prompt_tokens: tokens,
    }
}

fn book(value: serde_json::Value) -> BookInput {
    let book: Lorebook = serde_json::from_value(value).unwrap();
    BookInput {
        id: Some(7),
        name: "World".into(),
        book: Arc::new(CompiledBook::new(book)),
    }
}

fn kinds(p: &Prompt) -> Vec<SectionKind> {
    p.report.sections.iter().map(|s| s.kind).collect()
}

#[test]
fn substitutes_macros_in_any_case_and_only_in_cards() {
    assert_eq!(
        substitute("{{char}} & {{USER}} <bot> <User> {{other}}", "Ada", "Bob"),
        "Ada & Bob Ada Bob {{other}}"
    );
    assert_eq!(substitute("ünï {{char}}", "Ada", "Bob"), "ünï Ada");
    let mut i = input(vec![ChatMessage::user("I typed {{char}} literally")]);
    i.new_message = ChatMessage::user("{{user}}?");
    let p = build(&i, &budget(100_000));
    assert_eq!(p.request.messages[0].content, "I typed {{char}} literally");
    assert_eq!(p.request.messages[1].content, "{{user}}?");
}

#[test]
fn layout_system_history_new_message_post_history() {
    let p = build(
        &input(vec![
            ChatMessage::assistant("Welcome!"),
            ChatMessage::user("Hi"),
            ChatMessage::assistant("Hello Bob"),
        ]),
        &budget(100_000),
    );
    let system = p.request.system.clone().unwrap();
    assert!(
        system.starts_with(
            "Be kind.\n\nNever break the fourth wall.\n\nYou are Ada, talking with Bob."
        ),
        "{system}"
    );
    assert!(system.contains("Ada is an inventor who likes Bob."));
    assert!(system.contains("Ada's personality: cheerful"));
    assert!(system.contains("Scenario: A workshop."));
    assert!(
        system.contains(
            "Example dialogue:\n<START>\nBob: hi\nAda: hello!\n<START>\nBob: bye\nAda: see you"
        ),
        "{system}"
    );
    let roles: Vec<ChatRole> = p.request.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            ChatRole::User,
            ChatRole::Assistant,
            ChatRole::User,
            ChatRole::Assistant,
            ChatRole::User,
            ChatRole::System
        ]
    );
    assert_eq!(p.request.messages[0].content, START_MARKER);
    assert_eq!(
        p.request.messages[5].content,
        "Answer as Ada in one paragraph."
    );
    assert_eq!(p.request.max_tokens, Some(256));
    assert_eq!(p.report.examples_dropped, 0);
    assert_eq!(p.report.history.included, 3);
    assert_eq!(
        kinds(&p),
        [
            SectionKind::CommonPrompt,
            SectionKind::CommonPrompt,
            SectionKind::Card,
            SectionKind::Examples,
            SectionKind::History,
            SectionKind::NewMessage,
            SectionKind::PostHistory
        ]
    );
}

#[test]
fn every_section_in_its_order_with_its_token_count() {
    let mut i = input(vec![
        ChatMessage::user("We reach the castle gate."),
        ChatMessage::assistant("The gate is shut."),
    ]);
    i.persona = Some(Persona {
        id: Some(3),
        name: "Bob".into(),
        description: "{{user}} is a travelling bard.".into(),
    });
    i.lorebooks = vec![book(json!({"scan_depth": 3, "entries": [
        {"keys": ["castle"], "content": "The castle belongs to {{char}}.", "insertion_order": 1},
        {"keys": ["gate"], "content": "The gate opens at dawn.", "position": "after_char"},
        {"keys": ["castle"], "content": "Guards watch at night.",
         "extensions": {"position": 4, "depth": 1}},
        {"keys": ["dragon"], "content": "never fires"},
    ]}))];
    i.author_note = Some(AuthorNote {
        text: "Keep {{char}} mysterious.".into(),
        depth: 0,
        interval: 1,
    });
    let p = build(&i, &budget(100_000));
    assert_eq!(
        kinds(&p),
        [
            SectionKind::CommonPrompt,
            SectionKind::CommonPrompt,
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
    for s in &p.report.sections {
        if let Some(text) = &s.text {
            assert_eq!(s.tokens as usize, Encoding::Estimate.count(text), "{s:?}");
        }
    }
    let system = p.request.system.clone().unwrap();
    let order = [
        "Never break the fourth wall.",
        "About Bob: Bob is a travelling bard.",
        "The castle belongs to Ada.",
        "You are Ada",
        "Example dialogue:",
        "The gate opens at dawn.",
    ];
    let at: Vec<usize> = order.iter().map(|t| system.find(t).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{system}");
    let contents: Vec<(ChatRole, &str)> = p
        .request
        .messages
        .iter()
        .map(|m| (m.role, m.content.as_str()))
        .collect();
    assert_eq!(
        contents,
        [
            (ChatRole::User, "We reach the castle gate."),
            (ChatRole::Assistant, "The gate is shut."),
            (ChatRole::System, "Guards watch at night."),
            (ChatRole::User, "What are you building?"),
            (ChatRole::System, "Keep Ada mysterious."),
            (ChatRole::System, "Answer as Ada in one paragraph."),
        ]
    );
    let fired: Vec<(u32, Option<&str>)> = p
        .report
        .lore
        .iter()
        .map(|h| (h.entry, h.key.as_deref()))
        .collect();
    assert_eq!(
        fired,
        [(1, Some("gate")), (2, Some("castle")), (0, Some("castle"))],
        "in insertion order (entry 0 has 1, the others none = 0)"
    );
    assert_eq!(p.report.persona.as_ref().unwrap().id, Some(3));
    assert!(p.report.author_note.as_ref().unwrap().inserted);
    assert_eq!(
        p.report.prompt_tokens as usize,
        request_tokens(&p.request, &budget(0))
    );
}

#[test]
fn the_authors_note_follows_its_interval_and_depth() {
    let history: Vec<ChatMessage> = (0..6)
        .map(|i| {
            if i % 2 == 0 {
                ChatMessage::user(format!("u{i}"))
            } else {
                ChatMessage::assistant(format!("a{i}"))
            }
        })
        .collect();
    let mut i = input(history);
    i.author_note = Some(AuthorNote {
        text: "NOTE".into(),
        depth: 2,
        interval: 3,
    });
    let inserted_at = |i: &PromptInput, turns: usize| {
        let mut i = i.clone();
        i.user_turns = turns;
        let p = build(&i, &budget(100_000));
        p.request.messages.iter().position(|m| m.content == "NOTE")
    };
    // Turns 1, 4, 7 …: before the last two messages (the last reply and the new message).
    assert_eq!(inserted_at(&i, 1), Some(5));
    assert_eq!(inserted_at(&i, 2), None);
    assert_eq!(inserted_at(&i, 3), None);
    assert_eq!(inserted_at(&i, 4), Some(5));
    i.author_note.as_mut().unwrap().interval = 0;
    assert_eq!(inserted_at(&i, 1), None, "interval 0 = never");
}

#[test]
fn lore_over_its_budget_drops_the_lowest_priority() {
    let mut i = input(vec![]);
    i.new_message = ChatMessage::user("tell me about the forest");
    let entry = |content: &str, priority: i64| json!({"keys": ["forest"], "content": content, "priority": priority});
    i.lorebooks = vec![book(json!({
        "token_budget": 30,
        "entries": [
            entry(&"a".repeat(40), 1),
            entry(&"b".repeat(40), 9),
            entry(&"c".repeat(40), 5),
        ]
    }))];
    let p = build(&i, &budget(100_000));
    let kept: Vec<u32> = p.report.lore.iter().map(|h| h.entry).collect();
    let dropped: Vec<u32> = p.report.lore_dropped.iter().map(|h| h.entry).collect();
    assert_eq!(kept, [1, 2], "each costs 14 tokens: two fit 30");
    assert_eq!(dropped, [0]);
    // A book budget far beyond the window is bounded by what the prompt has left.
    i.lorebooks = vec![book(json!({
        "token_budget": 1_000_000,
        "entries": [entry(&"x".repeat(4000), 1)]
    }))];
    let p = build(&i, &budget(300));
    assert!(p.report.lore.is_empty());
    assert_eq!(p.report.lore_dropped.len(), 1);
    assert!(p.report.prompt_tokens <= 300);
}

#[test]
fn examples_go_first_then_the_oldest_history() {
    let history: Vec<ChatMessage> = (0..10)
        .map(|i| {
            let text = format!("message {i} {}", "x".repeat(400));
            if i % 2 == 0 {
                ChatMessage::user(text)
            } else {
                ChatMessage::assistant(text)
            }
        })
        .collect();
    let mut bare = input(history.clone());
    bare.card.as_mut().unwrap().example_dialogue.clear();
    // Room for everything but the examples: they go, history stays whole.
    let without_examples = build(&bare, &budget(100_000)).prompt_tokens();
    assert!(build(&input(history.clone()), &budget(100_000)).prompt_tokens() > without_examples);
    let p = build(&input(history.clone()), &budget(without_examples));
    assert_eq!(p.report.examples_dropped, 2);
    assert_eq!(p.report.history.dropped, 0);
    assert!(!p
        .request
        .system
        .as_deref()
        .unwrap()
        .contains("Example dialogue"));
    // Tighter: the oldest history goes too, the newest stays.
    let p = build(&input(history), &budget(without_examples - 300));
    // What the dropped history left over may take back the first example block.
    assert!(p.report.examples_dropped >= 1);
    assert!(p.report.history.dropped >= 3, "{:?}", p.report.history);
    assert!(p.prompt_tokens() <= without_examples - 300);
    let contents: Vec<&str> = p
        .request
        .messages
        .iter()
        .map(|m| m.content.as_str())
        .collect();
    assert!(contents.iter().any(|c| c.starts_with("message 9 ")));
    assert!(!contents.iter().any(|c| c.starts_with("message 0 ")));
    assert_eq!(contents[contents.len() - 2], "What are you building?");
}

#[test]
fn essentials_are_sent_even_over_budget() {
    let p = build(&input(vec![ChatMessage::user("old")]), &budget(1));
    assert_eq!(p.report.history.dropped, 1);
    assert_eq!(p.request.messages.len(), 2, "new message and post-history");
}

#[test]
fn without_a_character_a_plain_assistant() {
    let p = build(
        &PromptInput {
            user_name: "Bob".into(),
            new_message: ChatMessage::user("hi"),
            ..PromptInput::default()
        },
        &budget(1000),
    );
    assert_eq!(
        p.request.system.as_deref(),
        Some("You are a helpful assistant.")
    );
}

#[test]
fn budget_is_capped_by_the_setting() {
    assert_eq!(budget_for("openai/gpt-4", 1024, 0), 8192 - 819 - 1024);
    assert_eq!(budget_for("openai/gpt-4", 1024, 500), 500);
}

/// 2,000 Korean messages into an 8k window: counted by the model's real encoding (o200k), by
/// cl100k, and by the estimate used for providers without a public tokenizer, the prompt as
/// sent never exceeds the budget — recounted with the real encodings.
#[test]
fn a_long_korean_chat_never_overflows_the_window() {
    let lines = [
        "오늘 저녁에 뭐 먹을까? 나는 김치찌개가 먹고 싶어.",
        "좋아! 그런데 어제도 찌개 먹었잖아. 오늘은 떡볶이 어때?",
        "뷁, 햏햏. 그럼 둘 다 먹자. 배고파 죽겠어 ㅋㅋㅋ",
        "그래, 역 앞에 새로 생긴 분식집에 가 보자. 평이 좋더라.",
    ];
    let history: Vec<ChatMessage> = (0..2000)
        .map(|i| {
            let text = format!("{} ({i})", lines[i % lines.len()]);
            if i % 2 == 0 {
                ChatMessage::user(text)
            } else {
                ChatMessage::assistant(text)
            }
        })
        .collect();
    let mut i = input(history);
    i.new_message = ChatMessage::user("그럼 7시에 만나!".to_owned());
    let window = 8_000;
    for (model_id, encoding) in [
        ("openai/gpt-4o", Encoding::O200k),
        ("openai/gpt-4", Encoding::Cl100k),
        ("anthropic/claude-sonnet-4", Encoding::Estimate),
    ] {
        let b = Budget {
            model_id,
            encoding,
            counter: counter(),
            prompt_tokens: window,
        };
        let p = build(&i, &b);
        assert!(
            p.prompt_tokens() <= window,
            "{model_id}: {}",
            p.prompt_tokens()
        );
        assert!(
            p.report.history.included > 50,
            "{model_id}: {:?}",
            p.report.history
        );
        assert!(p.report.history.dropped > 0);
        // A real encoding is checked against itself; the estimate against both.
        let recounts = match encoding {
            Encoding::Estimate => vec![Encoding::O200k, Encoding::Cl100k],
            real => vec![real],
        };
        for real in recounts {
            let recount = Budget {
                model_id,
                encoding: real,
                counter: counter(),
                prompt_tokens: window,
            };
            let sent = request_tokens(&p.request, &recount);
            assert!(
                sent <= window,
                "{model_id} counted by {real:?}: {sent} > {window}"
            );
        }
    }
}
