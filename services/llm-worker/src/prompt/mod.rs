//! The prompt of a reply (DESIGN §7): one pipeline with a token budget, sections in a fixed order,
//! each counted by the model family's tokenizer (`llm::tokens`).
//!
//! Layout, as character-chat front ends do it:
//! - system: common prompts, the persona, lorebook entries placed before the card, the card
//!   (system prompt or a default, description, personality, scenario), example dialogue,
//!   lorebook entries placed after the card;
//! - the history that fits, oldest first, then the new message; lorebook entries placed at a
//!   depth and the Author's Note at its depth go in between as system messages;
//! - the card's post-history instructions as a final system message (providers without
//!   in-history system messages fold it into their user turn).
//!
//! The budget is spent in this order: what is always sent (system core, new message, Author's
//! Note, post-history instructions), then lorebook entries (each book within its own budget,
//! highest priority first), then history (newest first), then example dialogue (first blocks
//! first). Whatever is left out is recorded in the [`ContextReport`].
//!
//! New sections (memory and summaries, issue 17) are one more [`SectionKind`] and one more step
//! in [`build`] before the history, spending from the same budget.
//!
//! `{{char}}` and `{{user}}` (any case, and `<BOT>`/`<USER>`) are replaced in card fields, common
//! prompts, the persona, lorebook entries and the Author's Note — not in what people wrote.

mod lore;
mod text;

use std::sync::Arc;

use db::characters::CharacterRow;
use domain::context::{
    AuthorNoteReport, ContextReport, ContextSection, HistoryReport, PersonaReport, SectionKind,
    SettingsUsed, REPORT_VERSION,
};
use domain::lorebook::matcher::CompiledBook;
use domain::lorebook::Position;
use llm::tokens::{Encoding, TokenCounter};
use llm::{ChatMessage, ChatRequest, ChatRole};

pub use text::{example_blocks, substitute};

/// Tokens a message costs beyond its text (role markers, separators): OpenAI's documented 3
/// per message, rounded up.
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

/// Who the user speaks as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Persona {
    pub id: Option<i64>,
    pub name: String,
    pub description: String,
}

/// A lorebook the prompt scans: the character's own, or one attached to the conversation.
#[derive(Debug, Clone)]
pub struct BookInput {
    pub id: Option<i64>,
    pub name: String,
    pub book: Arc<CompiledBook>,
}

/// The Author's Note of a conversation (SillyTavern's semantics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorNote {
    pub text: String,
    /// Messages from the end of the history (0 = after the new message).
    pub depth: u32,
    /// Inserted every this many user turns (1 = every turn, 0 = never).
    pub interval: u32,
}

/// Sampling settings sent to the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sampling {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: u32,
}

/// Lorebook defaults for books that name no scan depth or budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoreDefaults {
    pub scan_depth: u32,
    pub token_budget: u32,
}

impl Default for LoreDefaults {
    fn default() -> Self {
        Self {
            scan_depth: 2,
            token_budget: 1024,
        }
    }
}

/// Everything a reply prompt is made of, already loaded.
#[derive(Debug, Clone)]
pub struct PromptInput {
    /// Enabled common prompts in order.
    pub common: Vec<String>,
    pub persona: Option<Persona>,
    /// `None` for a conversation without a character: a plain assistant.
    pub card: Option<Card>,
    /// The name `{{user}}` becomes (the persona's name when there is one).
    pub user_name: String,
    /// Earlier messages, oldest first (the new message not included).
    pub history: Vec<ChatMessage>,
    /// The message being answered.
    pub new_message: ChatMessage,
    pub lorebooks: Vec<BookInput>,
    pub lore_defaults: LoreDefaults,
    pub author_note: Option<AuthorNote>,
    /// User turns so far, the new one included: decides whether the Author's Note goes in.
    pub user_turns: usize,
    pub sampling: Sampling,
}

impl Default for PromptInput {
    fn default() -> Self {
        Self {
            common: Vec::new(),
            persona: None,
            card: None,
            user_name: "User".to_owned(),
            history: Vec::new(),
            new_message: ChatMessage::user(""),
            lorebooks: Vec::new(),
            lore_defaults: LoreDefaults::default(),
            author_note: None,
            user_turns: 1,
            sampling: Sampling {
                max_tokens: 1024,
                ..Sampling::default()
            },
        }
    }
}

/// How the budget is counted.
pub struct Budget<'a> {
    pub model_id: &'a str,
    pub encoding: Encoding,
    pub counter: &'a TokenCounter,
    /// Tokens the prompt may take.
    pub prompt_tokens: usize,
}

impl Budget<'_> {
    fn count(&self, text: &str) -> usize {
        self.counter.count(self.encoding, text)
    }

    fn message(&self, text: &str) -> usize {
        self.count(text) + PER_MESSAGE_OVERHEAD
    }
}

/// A built request and what went into it.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub request: ChatRequest,
    pub report: ContextReport,
}

impl Prompt {
    pub fn prompt_tokens(&self) -> usize {
        self.report.prompt_tokens as usize
    }
}

fn tokens_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn join_sections(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The card's own text (system prompt, description, personality, scenario), or the plain
/// assistant's line.
fn card_text(card: Option<&Card>, has_common: bool) -> String {
    match card {
        Some(card) => {
            let intro = if card.system_prompt.trim().is_empty() {
                "You are {{char}}, talking with {{user}}. Stay in character."
            } else {
                card.system_prompt.as_str()
            };
            let personality = (!card.personality.trim().is_empty())
                .then(|| format!("{{{{char}}}}'s personality: {}", card.personality.trim()));
            let scenario = (!card.scenario.trim().is_empty())
                .then(|| format!("Scenario: {}", card.scenario.trim()));
            join_sections(&[
                intro,
                &card.description,
                personality.as_deref().unwrap_or(""),
                scenario.as_deref().unwrap_or(""),
            ])
        }
        None if has_common => String::new(),
        None => "You are a helpful assistant.".to_owned(),
    }
}

fn examples_text(blocks: &[String]) -> String {
    if blocks.is_empty() {
        return String::new();
    }
    let mut section = String::from("Example dialogue:");
    for block in blocks {
        section.push_str("\n<START>\n");
        section.push_str(block);
    }
    section
}

/// Whether the Author's Note goes into this turn's prompt.
fn author_note_due(note: &AuthorNote, user_turns: usize) -> bool {
    // Every `interval` user turns, starting with the first, as SillyTavern's frequency does.
    !note.text.trim().is_empty()
        && note.interval > 0
        && user_turns
            .saturating_sub(1)
            .is_multiple_of(note.interval as usize)
}

/// Builds the request within `budget`.
pub fn build(input: &PromptInput, budget: &Budget<'_>) -> Prompt {
    let char_name = input
        .card
        .as_ref()
        .map_or("Assistant", |c| c.name.as_str())
        .to_owned();
    let sub = |text: &str| substitute(text.trim(), &char_name, &input.user_name);

    // What is always sent.
    let common: Vec<String> = input
        .common
        .iter()
        .map(|p| sub(p))
        .filter(|p| !p.is_empty())
        .collect();
    let persona_text = input
        .persona
        .as_ref()
        .filter(|p| !p.description.trim().is_empty())
        .map(|p| format!("About {{{{user}}}}: {}", p.description.trim()))
        .map(|t| sub(&t));
    let card = sub(&card_text(input.card.as_ref(), !common.is_empty()));
    let post_history = input
        .card
        .as_ref()
        .map(|c| sub(&c.post_history_instructions))
        .filter(|p| !p.is_empty());
    let note = input.author_note.as_ref().map(|n| {
        let due = author_note_due(n, input.user_turns);
        (n, sub(&n.text), due)
    });
    let fixed = common.iter().map(|c| budget.count(c)).sum::<usize>()
        + persona_text.as_deref().map_or(0, |t| budget.count(t))
        + budget.count(&card)
        // The system message and the new message. (A start marker, when the history that fits
        // opens with the character, is paid for by the final check below.)
        + 2 * PER_MESSAGE_OVERHEAD
        + budget.count(&input.new_message.content)
        + post_history.as_deref().map_or(0, |p| budget.message(p))
        + note
            .as_ref()
            .filter(|(_, _, due)| *due)
            .map_or(0, |(_, text, _)| budget.message(text));
    let mut left = budget.prompt_tokens.saturating_sub(fixed);

    // Lorebooks: scanned over the newest messages, the new one first.
    let mut scan: Vec<&str> = Vec::with_capacity(input.history.len() + 1);
    scan.push(input.new_message.content.as_str());
    scan.extend(input.history.iter().rev().map(|m| m.content.as_str()));
    let lore = lore::select(input, &scan, &mut left, budget, &sub);

    // History: the newest that fit.
    let costs: Vec<usize> = input
        .history
        .iter()
        .map(|m| budget.message(&m.content))
        .collect();
    let mut first_kept = input.history.len();
    while first_kept > 0 && costs[first_kept - 1] <= left {
        left -= costs[first_kept - 1];
        first_kept -= 1;
    }

    // Example dialogue takes what the history left (as the old builder and SillyTavern do: a
    // long chat pushes the examples out); the first blocks are the most representative, the
    // last go first.
    let mut examples: Vec<String> = input
        .card
        .as_ref()
        .map(|c| example_blocks(&sub(&c.example_dialogue)))
        .unwrap_or_default();
    let mut examples_dropped = 0;
    let mut examples_section = examples_text(&examples);
    while !examples.is_empty() && budget.count(&examples_section) > left {
        examples.pop();
        examples_dropped += 1;
        examples_section = examples_text(&examples);
    }

    // The system prompt, in section order.
    let mut sections: Vec<ContextSection> = Vec::new();
    let mut system_parts: Vec<String> = Vec::new();
    let mut push_system = |kind: SectionKind, text: String, sections: &mut Vec<ContextSection>| {
        if text.trim().is_empty() {
            return;
        }
        sections.push(ContextSection {
            kind,
            tokens: tokens_u32(budget.count(&text)),
            text: Some(text.clone()),
            depth: None,
        });
        system_parts.push(text);
    };
    for c in common {
        push_system(SectionKind::CommonPrompt, c, &mut sections);
    }
    if let Some(p) = persona_text {
        push_system(SectionKind::Persona, p, &mut sections);
    }
    for text in lore.texts(Position::BeforeChar) {
        push_system(SectionKind::LoreBeforeChar, text, &mut sections);
    }
    push_system(SectionKind::Card, card, &mut sections);
    push_system(SectionKind::Examples, examples_section, &mut sections);
    for text in lore.texts(Position::AfterChar) {
        push_system(SectionKind::LoreAfterChar, text, &mut sections);
    }
    let system = system_parts.join("\n\n");

    // The messages: history, new message, then what sits at a depth.
    let history = &input.history[first_kept..];
    let history_tokens: usize = costs[first_kept..].iter().sum();
    sections.push(ContextSection {
        kind: SectionKind::History,
        tokens: tokens_u32(history_tokens),
        text: None,
        depth: None,
    });
    // Each message with its cost (history costs are known already): the total is summed, not
    // counted again — a 2,000-message history is counted once per reply, not twice.
    let mut messages: Vec<(ChatMessage, usize)> = Vec::with_capacity(history.len() + 4);
    messages.extend(
        history
            .iter()
            .cloned()
            .zip(costs[first_kept..].iter().copied()),
    );
    let new_tokens = budget.count(&input.new_message.content);
    messages.push((input.new_message.clone(), new_tokens + PER_MESSAGE_OVERHEAD));
    sections.push(ContextSection {
        kind: SectionKind::NewMessage,
        tokens: tokens_u32(new_tokens),
        text: None,
        depth: None,
    });
    // Deeper insertions first, so a shallower one is not pushed away by them; at the same depth
    // lore comes before the Author's Note (closer to the end = more weight, as SillyTavern).
    let mut at_depth: Vec<(u32, SectionKind, String)> = lore.at_depth();
    if let Some((n, text, true)) = &note {
        at_depth.push((n.depth, SectionKind::AuthorNote, text.clone()));
    }
    at_depth.sort_by_key(|(depth, kind, _)| {
        (
            std::cmp::Reverse(*depth),
            u8::from(*kind == SectionKind::AuthorNote),
        )
    });
    for (depth, kind, text) in at_depth {
        let at = messages.len().saturating_sub(depth as usize);
        let tokens = budget.count(&text);
        sections.push(ContextSection {
            kind,
            tokens: tokens_u32(tokens),
            text: Some(text.clone()),
            depth: Some(depth),
        });
        messages.insert(
            at,
            (ChatMessage::system(text), tokens + PER_MESSAGE_OVERHEAD),
        );
    }
    if let Some(post) = post_history {
        let tokens = budget.count(&post);
        sections.push(ContextSection {
            kind: SectionKind::PostHistory,
            tokens: tokens_u32(tokens),
            text: Some(post.clone()),
            depth: None,
        });
        messages.push((ChatMessage::system(post), tokens + PER_MESSAGE_OVERHEAD));
    }
    let marker_cost = budget.message(START_MARKER);
    let opens_with_user = |messages: &[(ChatMessage, usize)]| {
        messages
            .first()
            .is_some_and(|(m, _)| m.role == ChatRole::User)
    };
    // Sections were counted apart; the system prompt joins them with separators, and a start
    // marker may be needed. The prompt must never exceed the budget: the whole is summed and,
    // rarely, one more old message goes.
    let system_tokens = budget.message(&system);
    let total_of = |messages: &[(ChatMessage, usize)]| {
        system_tokens
            + messages.iter().map(|(_, c)| c).sum::<usize>()
            + if opens_with_user(messages) {
                0
            } else {
                marker_cost
            }
    };
    let mut total = total_of(&messages);
    let mut dropped_late = 0;
    while total > budget.prompt_tokens && dropped_late < history.len() {
        // The oldest history message still in (system insertions are not history).
        let Some(i) = messages
            .iter()
            .position(|(m, _)| m.role != ChatRole::System)
            .filter(|&i| i + 1 < messages.len())
        else {
            break;
        };
        messages.remove(i);
        dropped_late += 1;
        total = total_of(&messages);
    }
    let needs_marker = !opens_with_user(&messages);
    let mut messages: Vec<ChatMessage> = messages.into_iter().map(|(m, _)| m).collect();
    if needs_marker {
        messages.insert(0, ChatMessage::user(START_MARKER));
    }
    let request = ChatRequest {
        model: String::new(),
        system: Some(system),
        messages,
        max_tokens: Some(input.sampling.max_tokens),
        temperature: input.sampling.temperature.map(|t| t as f32),
        top_p: input.sampling.top_p.map(|p| p as f32),
        stop: Vec::new(),
        attempts: None,
    };
    let included = history.len() - dropped_late;

    let report = ContextReport {
        v: REPORT_VERSION,
        model: budget.model_id.to_owned(),
        encoding: budget.encoding.as_str().to_owned(),
        budget_tokens: tokens_u32(budget.prompt_tokens),
        prompt_tokens: tokens_u32(total),
        sections,
        lore: lore.kept_hits(),
        lore_dropped: lore.dropped,
        history: HistoryReport {
            available: tokens_u32(input.history.len()),
            included: tokens_u32(included),
            dropped: tokens_u32(input.history.len() - included),
            tokens: tokens_u32(history_tokens),
        },
        examples_dropped,
        author_note: note.map(|(n, text, inserted)| AuthorNoteReport {
            text,
            depth: n.depth,
            interval: n.interval,
            inserted,
        }),
        persona: input.persona.as_ref().map(|p| PersonaReport {
            id: p.id,
            name: p.name.clone(),
        }),
        settings: SettingsUsed {
            model: budget.model_id.to_owned(),
            temperature: input.sampling.temperature,
            top_p: input.sampling.top_p,
            max_tokens: input.sampling.max_tokens,
        },
    };
    Prompt { request, report }
}

/// Tokens of a whole request: the system prompt and every message, with their overhead.
pub fn request_tokens(req: &ChatRequest, budget: &Budget<'_>) -> usize {
    req.system.as_deref().map_or(0, |s| budget.message(s))
        + req
            .messages
            .iter()
            .map(|m| budget.message(&m.content))
            .sum::<usize>()
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
mod tests;
