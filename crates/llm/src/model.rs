//! The provider-neutral request, the streamed events and the one trait every provider implements.

use std::{pin::Pin, sync::Arc};

use domain::events::Usage;
use futures_util::{future::BoxFuture, Stream};

use crate::LlmError;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRole {
    User,
    Assistant,
    /// An instruction in the middle of the history. Providers without in-history system messages
    /// (Anthropic, Gemini) fold these into their top-level system prompt, in order.
    System,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
}

impl ChatMessage {
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: ChatRole::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: ChatRole::Assistant,
            content: content.into(),
        }
    }

    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: ChatRole::System,
            content: content.into(),
        }
    }
}

/// One chat completion request, the same for every provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    /// The provider's own model name (`gpt-4o-mini`, not `openai/gpt-4o-mini`). A model returned
    /// by [`crate::Router::resolve`] is bound to its model and overwrites this field.
    pub model: String,
    pub system: Option<String>,
    pub messages: Vec<ChatMessage>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub stop: Vec<String>,
}

/// What a reply stream yields: text as it arrives, then exactly one `Done`.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The next piece of the reply; never empty.
    Delta(String),
    /// The reply is complete. Nothing follows.
    Done {
        /// Normalised: cached prompt tokens are part of `prompt_tokens` and counted once.
        usage: Usage,
        /// The provider's own word (`stop`, `end_turn`, `STOP`, `length`, …).
        finish_reason: Option<String>,
        /// The full `provider/model` id that produced the reply: differs from the resolved id
        /// when a fallback served the request.
        model: String,
    },
}

/// A reply in progress. After an `Err` or a `Done` the stream ends.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, LlmError>> + Send>>;

/// A chat model that streams its reply.
///
/// `stream` resolves when the provider has accepted the request (HTTP status checked); errors
/// before that are returned directly, later ones arrive on the stream. Implementations apply
/// their [`crate::Timeouts`] inside both.
pub trait ChatModel: Send + Sync {
    fn stream(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>>;
}

impl<M: ChatModel + ?Sized> ChatModel for Arc<M> {
    fn stream(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        (**self).stream(req)
    }
}

impl<M: ChatModel + ?Sized> ChatModel for Box<M> {
    fn stream(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        (**self).stream(req)
    }
}
