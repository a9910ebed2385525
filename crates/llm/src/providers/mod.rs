//! One module per provider. Each turns a [`crate::ChatRequest`] into its wire request and its
//! wire stream into [`crate::StreamEvent`]s through [`crate::timeouts::drive`].

pub(crate) mod anthropic;
pub(crate) mod gemini;
pub(crate) mod mock;
pub(crate) mod openai;

use crate::{ChatMessage, ChatRole};

/// A turn of a provider that takes the system prompt apart and expects alternating turns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Turn {
    /// `User` or `Assistant`, never `System`.
    pub role: ChatRole,
    /// Text blocks in order: consecutive messages of one speaker share a block; an instruction
    /// (a system message after the history began) gets a block of its own.
    pub parts: Vec<String>,
}

/// For providers (Anthropic, Gemini) that take the system prompt apart from the turns and expect
/// turns to alternate: the request's system prompt and the system messages *before* the first
/// turn become the system text; a system message after that (post-history instructions, an
/// Author's Note) stays where it is, as a block of the user's turn — the place it has for
/// OpenAI, and what SillyTavern sends these providers. Consecutive turns of one role merge.
pub(crate) fn split_system(
    system: Option<&str>,
    messages: &[ChatMessage],
) -> (Option<String>, Vec<Turn>) {
    let mut system_parts: Vec<&str> = system.into_iter().filter(|s| !s.is_empty()).collect();
    let mut turns: Vec<Turn> = Vec::with_capacity(messages.len());
    // Whether the last block of the last turn is an instruction: a chat message after one
    // starts a new block instead of joining the instruction's text.
    let mut last_is_instruction = false;
    for message in messages {
        if message.content.is_empty() {
            continue;
        }
        let (role, instruction) = match message.role {
            ChatRole::System if turns.is_empty() => {
                system_parts.push(&message.content);
                continue;
            }
            ChatRole::System => (ChatRole::User, true),
            role => (role, false),
        };
        match turns.last_mut() {
            Some(turn) if turn.role == role => match turn.parts.last_mut() {
                Some(text) if !instruction && !last_is_instruction => {
                    text.push_str("\n\n");
                    text.push_str(&message.content);
                }
                _ => turn.parts.push(message.content.clone()),
            },
            _ => turns.push(Turn {
                role,
                parts: vec![message.content.clone()],
            }),
        }
        last_is_instruction = instruction;
    }
    let system = (!system_parts.is_empty()).then(|| system_parts.join("\n\n"));
    (system, turns)
}

/// `base` without a trailing slash, so paths can be appended.
pub(crate) fn trim_base(base: &str) -> String {
    base.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_after_the_history_stay_after_it() {
        let messages = [
            ChatMessage::system("Leading note."),
            ChatMessage::user("Hi"),
            ChatMessage::assistant("Hello"),
            ChatMessage::user("Build a robot"),
            ChatMessage::user("with wheels"),
            ChatMessage::system("Keep replies short."),
        ];
        let (system, turns) = split_system(Some("You are Ada."), &messages);
        assert_eq!(system.as_deref(), Some("You are Ada.\n\nLeading note."));
        let parts: Vec<(ChatRole, Vec<&str>)> = turns
            .iter()
            .map(|t| (t.role, t.parts.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            parts,
            [
                (ChatRole::User, vec!["Hi"]),
                (ChatRole::Assistant, vec!["Hello"]),
                (
                    ChatRole::User,
                    vec!["Build a robot\n\nwith wheels", "Keep replies short."]
                ),
            ]
        );
    }

    #[test]
    fn an_instruction_after_the_character_spoke_is_a_user_turn() {
        let messages = [
            ChatMessage::user("Hi"),
            ChatMessage::assistant("Hello"),
            ChatMessage::system("Continue."),
            ChatMessage::user("Go on"),
        ];
        let (_, turns) = split_system(None, &messages);
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[2].role, ChatRole::User);
        assert_eq!(turns[2].parts, ["Continue.", "Go on"]);
    }
}
