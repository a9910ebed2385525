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
    /// An instruction within or after the history (post-history instructions, an Author's
    /// Note). Providers without in-history system messages (Anthropic, Gemini) send it in its
    /// place as text of the user's turn, so it keeps its position after the history.
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
    /// Nucleus sampling; each provider's own parameter name (`top_p`, `topP`).
    pub top_p: Option<f32>,
    pub stop: Vec<String>,
    /// Asked before every upstream request made for this request (retries and fallbacks
    /// included); `None` = unlimited.
    pub attempts: Option<Attempts>,
}

/// Decides whether one more upstream request may be made for a reply, counting it when it may:
/// the worker counts across deliveries in Redis, so a redelivered job does not start afresh.
pub trait AttemptGate: Send + Sync {
    /// `true` (and counted) when one more upstream request may be made.
    fn try_acquire(&self) -> BoxFuture<'_, bool>;
}

/// A shared [`AttemptGate`], carried on a [`ChatRequest`].
#[derive(Clone)]
pub struct Attempts(Arc<dyn AttemptGate>);

impl Attempts {
    pub fn new(gate: Arc<dyn AttemptGate>) -> Self {
        Self(gate)
    }

    pub(crate) async fn try_acquire(&self) -> bool {
        self.0.try_acquire().await
    }
}

impl std::fmt::Debug for Attempts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Attempts(..)")
    }
}

/// Two requests are equal when they share the same gate (identity, not behaviour).
impl PartialEq for Attempts {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
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
