//! One module per provider. Each turns a [`crate::ChatRequest`] into its wire request and its
//! wire stream into [`crate::StreamEvent`]s through [`crate::timeouts::drive`].

pub(crate) mod anthropic;
pub(crate) mod gemini;
pub(crate) mod mock;
pub(crate) mod openai;

use crate::{ChatMessage, ChatRole};

/// Folds the request's system prompt and any in-history system messages into one system text,
/// and merges consecutive messages of the same role — for providers (Anthropic, Gemini) that
/// take the system prompt apart from the turns and expect turns to alternate.
pub(crate) fn split_system(
    system: Option<&str>,
    messages: &[ChatMessage],
) -> (Option<String>, Vec<(ChatRole, String)>) {
    let mut system_parts: Vec<&str> = system.into_iter().filter(|s| !s.is_empty()).collect();
    let mut turns: Vec<(ChatRole, String)> = Vec::with_capacity(messages.len());
    for message in messages {
        match message.role {
            ChatRole::System => system_parts.push(&message.content),
            role => match turns.last_mut() {
                Some((last, text)) if *last == role => {
                    text.push_str("\n\n");
                    text.push_str(&message.content);
                }
                _ => turns.push((role, message.content.clone())),
            },
        }
    }
    let system = (!system_parts.is_empty()).then(|| system_parts.join("\n\n"));
    (system, turns)
}

/// `base` without a trailing slash, so paths can be appended.
pub(crate) fn trim_base(base: &str) -> String {
    base.trim_end_matches('/').to_owned()
}
