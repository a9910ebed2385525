//! AI provider clients behind one streaming trait (DESIGN §7).
//!
//! - [`ChatModel`] is the one call: `stream(ChatRequest)` resolves once the reply has started and
//!   yields [`StreamEvent::Delta`]s then one [`StreamEvent::Done`] with normalised [`Usage`].
//! - Providers: [`OpenAiCompatible`] (OpenAI and any OpenAI-compatible server, through
//!   `async-openai`), [`Anthropic`] and [`Gemini`] (reqwest + `eventsource-stream`), and [`Mock`]
//!   for development without keys.
//! - Every provider applies [`Timeouts`] inside its stream, so a hung server yields
//!   [`LlmError::Timeout`], never a hang.
//! - [`Retrying`] retries with exponential backoff and jitter, honouring `retry-after`, but only
//!   until the first token; [`Router`] maps `provider/model` ids, aliases and fallback chains to
//!   models.
//! - [`budget`] holds the context-window table and the token estimator used to trim history.
//!
//! [`Usage`]: domain::events::Usage

pub mod budget;
mod error;
mod model;
mod providers;
mod retry;
mod router;
mod sse;
mod timeouts;
pub mod tokens;

pub use error::{LlmError, TimeoutPhase};
pub use model::{
    AttemptGate, Attempts, ChatMessage, ChatModel, ChatRequest, ChatRole, ChatStream, StreamEvent,
};
pub use providers::anthropic::Anthropic;
pub use providers::gemini::Gemini;
pub use providers::mock::Mock;
pub use providers::openai::OpenAiCompatible;
pub use retry::{RetryPolicy, Retrying};
pub use router::{Router, RouterConfig};
pub use timeouts::Timeouts;

/// Re-exported so callers need not depend on `domain` just to read usage or failure codes.
pub use domain::events::{FailureCode, Usage};
