//! Context budgets: how many tokens a model takes in, and a cheap estimate of how many a text
//! costs, for trimming history to fit (DESIGN §7).
//!
//! The estimate is [`crate::tokens::estimate_tokens`] (per script, never below the real OpenAI
//! encodings on the tested samples); [`crate::tokens`] also counts exactly where a model's
//! tokenizer is public.

use crate::{ChatRequest, ChatRole};

/// Used for models not in the table: small enough to be safe for any current chat model.
pub const DEFAULT_CONTEXT_WINDOW: usize = 8_192;

/// Tokens a message costs beyond its text (role markers, separators).
const PER_MESSAGE_OVERHEAD: usize = 4;

/// Known context windows by model-name prefix; the longest matching prefix wins.
const WINDOWS: &[(&str, usize)] = &[
    // OpenAI
    ("gpt-5", 400_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4", 8_192),
    ("gpt-3.5-turbo", 16_385),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4-mini", 200_000),
    // Anthropic
    ("claude-", 200_000),
    // Gemini
    ("gemini-1.5-pro", 2_097_152),
    ("gemini-1.5-flash", 1_048_576),
    ("gemini-2.0-flash", 1_048_576),
    ("gemini-2.5", 1_048_576),
    ("gemini-1.0-pro", 32_760),
    // Common open models behind OpenAI-compatible servers
    ("llama3.1", 131_072),
    ("llama3.2", 131_072),
    ("llama3", 8_192),
    ("mistral", 32_768),
    ("qwen2.5", 32_768),
];

/// Context window of the mock: generous enough for long demo conversations.
const MOCK_WINDOW: usize = 32_768;

/// The context window, in tokens, of a `provider/model` id (or a bare model name).
pub fn context_window(model_id: &str) -> usize {
    let (provider, model) = model_id.split_once('/').unwrap_or(("", model_id));
    if provider == "mock" {
        return MOCK_WINDOW;
    }
    // OpenRouter-style ids nest a vendor: `compat/anthropic/claude-3.5-sonnet`.
    let model = model.rsplit('/').next().unwrap_or(model);
    WINDOWS
        .iter()
        .filter(|(prefix, _)| model.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or(DEFAULT_CONTEXT_WINDOW, |(_, window)| *window)
}

/// Estimated tokens of `text`: the conservative per-script estimate of [`crate::tokens`]
/// (chars/4 for English, a token or more per Hangul syllable or CJK character).
pub fn estimate_tokens(text: &str) -> usize {
    crate::tokens::estimate_tokens(text)
}

/// Estimated prompt tokens of a whole request (system prompt, messages and per-message
/// overhead).
pub fn estimate_request_tokens(req: &ChatRequest) -> usize {
    let system = req
        .system
        .as_deref()
        .map_or(0, |s| estimate_tokens(s) + PER_MESSAGE_OVERHEAD);
    system
        + req
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content) + PER_MESSAGE_OVERHEAD)
            .sum::<usize>()
}

/// Tokens available for the prompt of `model_id` when `max_output` tokens are reserved for the
/// reply, keeping a 10% margin for the estimate's error.
pub fn prompt_budget(model_id: &str, max_output: u32) -> usize {
    let window = context_window(model_id);
    let usable = window - window / 10;
    usable.saturating_sub(max_output as usize)
}

/// Drops the oldest non-system messages of `req` until its estimate fits `budget` tokens; the
/// last message is always kept. Returns how many messages were dropped. (Callers that trim
/// examples first do that before calling this.)
pub fn trim_history(req: &mut ChatRequest, budget: usize) -> usize {
    let mut dropped = 0;
    while estimate_request_tokens(req) > budget {
        let removable = req
            .messages
            .iter()
            .enumerate()
            .take(req.messages.len().saturating_sub(1))
            .find(|(_, m)| m.role != ChatRole::System)
            .map(|(i, _)| i);
        match removable {
            Some(i) => {
                req.messages.remove(i);
                dropped += 1;
            }
            None => break,
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    #[test]
    fn estimates_and_trims() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        let mut req = ChatRequest {
            messages: vec![
                ChatMessage::user("a".repeat(400)),
                ChatMessage::assistant("b".repeat(400)),
                ChatMessage::user("c".repeat(40)),
            ],
            ..ChatRequest::default()
        };
        assert_eq!(estimate_request_tokens(&req), 100 + 100 + 10 + 12);
        assert_eq!(trim_history(&mut req, 120), 1);
        assert_eq!(req.messages.len(), 2);
        assert_eq!(trim_history(&mut req, 1), 1);
        assert_eq!(req.messages.len(), 1, "the last message is always kept");
    }
}
