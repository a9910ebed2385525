//! The prompt of a reply (DESIGN §7): the enabled common prompts, the character's card and system
//! prompt, as much recent history as fits the model's context budget, and the new message.
//!
//! Layout, as character-chat front ends do it:
//! - system: common prompts, the card's system prompt (or a default), description, personality,
//!   scenario, example dialogue;
//! - the history, oldest first, then the new user message;
//! - the card's post-history instructions as a final system message (providers without
//!   in-history system messages fold it into their system prompt).
//!
//! `{{char}}` and `{{user}}` (any case, and the older `<BOT>`/`<USER>`) are replaced in every
//! card field and common prompt, not in what people wrote in the chat.
//!
//! When the whole prompt exceeds the budget, example dialogue goes first (last block first), then
//! the oldest history. The system prompt, the new message and the post-history instructions are
//! always sent.

use db::characters::CharacterRow;
use llm::budget::estimate_tokens;
use llm::{ChatMessage, ChatRequest, ChatRole};

/// Tokens a message costs beyond its text; the same figure `llm::budget` uses.
const PER_MESSAGE_OVERHEAD: usize = 4;

/// Sent before a history that begins with the character speaking, because some providers
/// (Anthropic, Gemini) expect the user to speak first.
pub const START_MARKER: &str = "[Start a new chat]";

/// The parts of a character card the prompt uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Card {
    pub name: String,
    pub description: String,
    pub personality: String,
    pub scenario: String,
    pub system_prompt: String,
    pub example_dialogue: String,
    pub post_history_instructions: String,
}

impl From<&CharacterRow> for Card {
    fn from(c: &CharacterRow) -> Self {
        Self {
            name: c.name.clone(),
            description: c.description.clone(),
            personality: c.personality.clone(),
            scenario: c.scenario.clone(),
            system_prompt: c.system_prompt.clone(),
            example_dialogue: c.example_dialogue.clone(),
            post_history_instructions: c.post_history_instructions.clone(),
        }
    }
}

/// Everything a reply prompt is made of, already loaded.
#[derive(Debug, Clone)]
pub struct PromptInput {
    /// Enabled common prompts in order.
    pub common: Vec<String>,
    /// `None` for a conversation without a character: a plain assistant.
    pub card: Option<Card>,
    /// The name `{{user}}` becomes.
    pub user_name: String,
    /// Earlier messages, oldest first (the new message not included).
    pub history: Vec<ChatMessage>,
    /// The message being answered.
    pub new_message: ChatMessage,
}

impl Default for PromptInput {
    fn default() -> Self {
        Self {
            common: Vec::new(),
            card: None,
            user_name: "User".to_owned(),
            history: Vec::new(),
            new_message: ChatMessage::user(""),
        }
    }
}

/// A built request and what trimming did.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub request: ChatRequest,
    pub dropped_history: usize,
    pub dropped_examples: usize,
    /// The estimate of the request's prompt tokens.
    pub estimated_tokens: usize,
}

/// Replaces `{{char}}`/`{{user}}` (any letter case) and `<BOT>`/`<USER>`.
pub fn substitute(text: &str, char_name: &str, user_name: &str) -> String {
    if !text.contains(['{', '<']) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (macro_text, value) in [
            ("{{char}}", char_name),
            ("{{user}}", user_name),
            ("<bot>", char_name),
            ("<user>", user_name),
        ] {
            if rest.len() >= macro_text.len()
                && rest.is_char_boundary(macro_text.len())
                && rest[..macro_text.len()].eq_ignore_ascii_case(macro_text)
            {
                out.push_str(value);
                rest = &rest[macro_text.len()..];
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Splits example dialogue into blocks at `<START>` lines; text before the first marker is a
/// block too.
pub fn example_blocks(dialogue: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current = String::new();
    for line in dialogue.lines() {
        if line.trim().eq_ignore_ascii_case("<start>") {
            if !current.trim().is_empty() {
                blocks.push(current.trim().to_owned());
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    if !current.trim().is_empty() {
        blocks.push(current.trim().to_owned());
    }
    blocks
}

fn message_cost(text: &str) -> usize {
    estimate_tokens(text) + PER_MESSAGE_OVERHEAD
}

fn push_section(system: &mut String, section: &str) {
    let section = section.trim();
    if section.is_empty() {
        return;
    }
    if !system.is_empty() {
        system.push_str("\n\n");
    }
    system.push_str(section);
}

/// The system prompt without examples.
fn system_core(input: &PromptInput) -> String {
    let mut system = String::new();
    for prompt in &input.common {
        push_section(&mut system, prompt);
    }
    match &input.card {
        Some(card) => {
            if card.system_prompt.trim().is_empty() {
                push_section(
                    &mut system,
                    "You are {{char}}, talking with {{user}}. Stay in character.",
                );
            } else {
                push_section(&mut system, &card.system_prompt);
            }
            push_section(&mut system, &card.description);
            if !card.personality.trim().is_empty() {
                push_section(
                    &mut system,
                    &format!("{{{{char}}}}'s personality: {}", card.personality.trim()),
                );
            }
            if !card.scenario.trim().is_empty() {
                push_section(&mut system, &format!("Scenario: {}", card.scenario.trim()));
            }
        }
        None => {
            if system.is_empty() {
                push_section(&mut system, "You are a helpful assistant.");
            }
        }
    }
    system
}

fn with_examples(core: &str, examples: &[String]) -> String {
    if examples.is_empty() {
        return core.to_owned();
    }
    let mut system = core.to_owned();
    let mut section = String::from("Example dialogue:");
    for block in examples {
        section.push_str("\n<START>\n");
        section.push_str(block);
    }
    push_section(&mut system, &section);
    system
}

/// Builds the request within `budget` prompt tokens (estimated), asking for at most
/// `max_output` tokens of reply.
pub fn build(input: &PromptInput, budget: usize, max_output: u32) -> Prompt {
    let char_name = input
        .card
        .as_ref()
        .map_or("Assistant", |c| c.name.as_str())
        .to_owned();
    let sub = |text: &str| substitute(text, &char_name, &input.user_name);

    let core = sub(&system_core(input));
    let mut examples: Vec<String> = input
        .card
        .as_ref()
        .map(|c| example_blocks(&sub(&c.example_dialogue)))
        .unwrap_or_default();
    let post_history = input
        .card
        .as_ref()
        .map(|c| sub(c.post_history_instructions.trim()))
        .filter(|p| !p.is_empty());

    let fixed =
        message_cost(&input.new_message.content) + post_history.as_deref().map_or(0, message_cost);
    let history_costs: Vec<usize> = input
        .history
        .iter()
        .map(|m| message_cost(&m.content))
        .collect();
    let mut history_total: usize = history_costs.iter().sum();
    // The start marker may be needed; counting it always keeps the estimate on the safe side.
    let marker = message_cost(START_MARKER);

    let mut system = with_examples(&core, &examples);
    let mut dropped_examples = 0;
    while !examples.is_empty() && message_cost(&system) + fixed + history_total + marker > budget {
        examples.pop();
        dropped_examples += 1;
        system = with_examples(&core, &examples);
    }
    let mut first_kept = 0;
    let system_cost = message_cost(&system);
    while first_kept < history_costs.len() && system_cost + fixed + history_total + marker > budget
    {
        history_total -= history_costs[first_kept];
        first_kept += 1;
    }

    let mut messages: Vec<ChatMessage> = Vec::with_capacity(input.history.len() - first_kept + 3);
    messages.extend(input.history[first_kept..].iter().cloned());
    messages.push(input.new_message.clone());
    if messages
        .first()
        .is_some_and(|m| m.role == ChatRole::Assistant)
    {
        messages.insert(0, ChatMessage::user(START_MARKER));
    }
    if let Some(post) = post_history {
        messages.push(ChatMessage::system(post));
    }
    let request = ChatRequest {
        model: String::new(),
        system: Some(system),
        messages,
        max_tokens: Some(max_output),
        temperature: None,
        stop: Vec::new(),
        attempts: None,
    };
    let estimated_tokens = llm::budget::estimate_request_tokens(&request);
    Prompt {
        request,
        dropped_history: first_kept,
        dropped_examples,
        estimated_tokens,
    }
}

/// The prompt budget for `model_id`: its context window less the reply and a safety margin,
/// capped by `max_prompt_tokens` when that is set.
pub fn budget_for(model_id: &str, max_output: u32, max_prompt_tokens: usize) -> usize {
    let budget = llm::budget::prompt_budget(model_id, max_output);
    if max_prompt_tokens > 0 {
        budget.min(max_prompt_tokens)
    } else {
        budget
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn card() -> Card {
        Card {
            name: "Ada".into(),
            description: "{{char}} is an inventor who likes {{User}}.".into(),
            personality: "cheerful".into(),
            scenario: "A workshop.".into(),
            system_prompt: String::new(),
            example_dialogue:
                "<START>\n{{user}}: hi\n{{char}}: hello!\n<START>\n<USER>: bye\n<BOT>: see you"
                    .into(),
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
        }
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
        let p = build(&i, 100_000, 256);
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
            100_000,
            256,
        );
        let system = p.request.system.unwrap();
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
        assert_eq!((p.dropped_examples, p.dropped_history), (0, 0));
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
        // Room for everything except the examples (and the start marker the check reserves):
        // they go, history stays whole.
        let without_examples =
            build(&bare, 100_000, 256).estimated_tokens + message_cost(START_MARKER);
        assert!(build(&input(history.clone()), 100_000, 256).estimated_tokens > without_examples);
        let p = build(&input(history.clone()), without_examples, 256);
        assert_eq!(p.dropped_examples, 2);
        assert_eq!(p.dropped_history, 0);
        assert!(!p
            .request
            .system
            .as_deref()
            .unwrap()
            .contains("Example dialogue"));
        // Tighter: the oldest history goes too, the newest stays.
        let p = build(&input(history), without_examples - 300, 256);
        assert_eq!(p.dropped_examples, 2);
        assert!(p.dropped_history >= 3, "{}", p.dropped_history);
        assert!(p.estimated_tokens <= without_examples - 300);
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
        let p = build(&input(vec![ChatMessage::user("old")]), 1, 256);
        assert_eq!(p.dropped_history, 1);
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
            1000,
            64,
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
}
