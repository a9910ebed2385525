//! `worker-bench -- prompt`: what the prompt pipeline adds to a reply's start, p50/p99, with a
//! 200-entry lorebook (plain, regex, selective and constant entries, recursive scanning) and
//! 2,000 messages of mixed Korean and English history. No database or network: the input is
//! loaded as the worker loads it, then `prompt::build` runs as in a reply job (the lorebook
//! compiled once, as the worker's cache keeps it; token counts memoised across replies, as the
//! worker's counter keeps them). Each iteration adds a new message, as a live conversation does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::lorebook::matcher::CompiledBook;
use domain::lorebook::Lorebook;
use llm::tokens::{Encoding, TokenCounter};
use llm::ChatMessage;
use llm_worker::prompt::{
    self, AuthorNote, BookInput, Budget, Card, Persona, PromptInput, Sampling,
};
use serde_json::json;

const ENTRIES: usize = 200;
const HISTORY: usize = 2_000;
/// Replies per model; `BENCH_ITERATIONS` changes it (fewer for a debug-build smoke run).
fn iterations() -> usize {
    std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
        .max(1)
}

fn lorebook() -> Lorebook {
    let entries: Vec<_> = (0..ENTRIES)
        .map(|i| {
            let key = if i % 10 == 0 {
                json!([format!("/\\bplace{i}(s)?\\b/i")])
            } else {
                json!([format!("place{i}"), format!("장소{i}")])
            };
            let mut e = json!({
                "keys": key,
                "content": format!("장소{i} is a place in the world of {{{{char}}}}. It is known for story {i}; see place{}.", (i + 1) % ENTRIES),
                "insertion_order": i,
                "priority": i % 7,
            });
            if i % 25 == 0 {
                e["constant"] = json!(true);
            }
            if i % 9 == 0 {
                e["selective"] = json!(true);
                e["secondary_keys"] = json!(["night", "밤"]);
            }
            if i % 4 == 0 {
                e["extensions"] = json!({"position": 4, "depth": 3});
            }
            e
        })
        .collect();
    serde_json::from_value(json!({
        "scan_depth": 4, "token_budget": 2048, "recursive_scanning": true, "entries": entries
    }))
    .unwrap_or_default()
}

fn history() -> Vec<ChatMessage> {
    let lines = [
        "오늘 저녁에 장소12에 가 볼까? 거기 밤 풍경이 정말 예쁘대.",
        "I heard place40 is lovely at night, but the road is long.",
        "그래, 그럼 내일 아침 일찍 출발하자. 간식도 챙겨 가고.",
        "Sounds good. I'll bring the map of place7 and some water.",
    ];
    (0..HISTORY)
        .map(|i| {
            let text = format!("{} ({i})", lines[i % lines.len()]);
            if i % 2 == 0 {
                ChatMessage::user(text)
            } else {
                ChatMessage::assistant(text)
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

pub fn run() {
    let book = Arc::new(CompiledBook::new(lorebook()));
    let base = PromptInput {
        common: vec!["Write vividly.".into(), "Never speak for {{user}}.".into()],
        persona: Some(Persona {
            id: Some(1),
            name: "민지".into(),
            description: "{{user}} is a student from Seoul.".into(),
        }),
        card: Some(Card {
            name: "Ada".into(),
            description: "{{char}} is a travelling guide.".into(),
            personality: "warm".into(),
            scenario: "A journey.".into(),
            example_dialogue: "<START>\n{{user}}: hi\n{{char}}: hello!".into(),
            ..Card::default()
        }),
        user_name: "민지".into(),
        history: history(),
        new_message: ChatMessage::user("장소3에 대해 알려 줘"),
        lorebooks: vec![BookInput {
            id: Some(1),
            name: "World".into(),
            book,
        }],
        author_note: Some(AuthorNote {
            text: "Keep {{char}} cheerful.".into(),
            depth: 4,
            interval: 1,
        }),
        user_turns: HISTORY / 2 + 1,
        sampling: Sampling {
            temperature: Some(0.8),
            top_p: None,
            max_tokens: 1024,
        },
        ..PromptInput::default()
    };
    let iterations = iterations();
    println!(
        "prompt build: {ENTRIES}-entry lorebook, {HISTORY} messages of history, {iterations} replies per model"
    );
    println!(
        "{:<28} {:>10} {:>9} {:>9} {:>9} {:>8} {:>9} {:>7}",
        "model", "first (ms)", "p50", "p99", "max", "history", "tokens", "lore"
    );
    for model_id in ["openai/gpt-4o", "openai/gpt-4", "anthropic/claude-sonnet-4"] {
        let counter = TokenCounter::default();
        let encoding = Encoding::for_model(model_id);
        let budget = prompt::budget_for(model_id, 1024, 0);
        let mut input = base.clone();
        let build = |input: &PromptInput| {
            prompt::build(
                input,
                &Budget {
                    model_id,
                    encoding,
                    counter: &counter,
                    prompt_tokens: budget,
                },
            )
        };
        // The first reply a worker builds for this conversation: tokenizer tables loaded and
        // every message counted.
        let started = Instant::now();
        let first = build(&input);
        let first_time = started.elapsed();
        let mut samples = Vec::with_capacity(iterations);
        let mut last = first;
        for i in 0..iterations {
            // A new turn: the last message joins the history, a new one is answered.
            input.history.push(input.new_message.clone());
            input.history.remove(0);
            input.new_message =
                ChatMessage::user(format!("그럼 place{}에서 만나자 ({i})", i % ENTRIES));
            let started = Instant::now();
            last = build(&input);
            samples.push(started.elapsed());
        }
        samples.sort();
        println!(
            "{:<28} {:>10} {:>9} {:>9} {:>9} {:>8} {:>9} {:>7}",
            model_id,
            ms(first_time),
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.99)),
            ms(samples[samples.len() - 1]),
            last.report.history.included,
            last.report.prompt_tokens,
            last.report.lore.len(),
        );
    }
}
