//! Retries with exponential backoff and jitter, honouring `retry-after`, but only until the first
//! token: once text has reached the caller, an error passes through (the caller already showed
//! part of a reply; a retry would produce a different one).
//!
//! Every upstream request first asks the request's [`crate::Attempts`] gate, if it has one, so a
//! reply's requests are capped across retries, fallbacks and the worker's redeliveries.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use futures_util::{future::BoxFuture, StreamExt};

use crate::{ChatModel, ChatRequest, ChatStream, LlmError, StreamEvent};

/// How [`Retrying`] retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts after the first one.
    pub max_retries: usize,
    /// The first backoff; each next one doubles, with full jitter.
    pub min_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// A `retry-after` longer than this is not waited out: the error goes to the caller (the
    /// worker may fall back or requeue the job) instead of holding the job.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The wait before the next attempt: the provider's `retry-after` when it sent one (and it
    /// is within `max_retry_after`), else the backoff. `None` gives up.
    fn next_delay(&self, err: &LlmError, backoff: Option<Duration>) -> Option<Duration> {
        let backoff = backoff?;
        match err.retry_after() {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait),
            None => Some(backoff),
        }
    }
}

/// Wraps a model with retries before the first token. Its `stream` resolves once the first
/// event (normally the first `Delta`) is in hand, so every failure before the reply starts is
/// returned from `stream` itself — after all retries — and [`crate::Router`] can fall back.
pub struct Retrying<M> {
    inner: M,
    policy: RetryPolicy,
}

impl<M: ChatModel> Retrying<M> {
    pub fn new(inner: M, policy: RetryPolicy) -> Self {
        Self { inner, policy }
    }

    pub fn inner(&self) -> &M {
        &self.inner
    }
}

/// Opens a stream and waits for its first event. Errors before it are the caller's to retry.
pub(crate) async fn open_until_first_event<M: ChatModel + ?Sized>(
    model: &M,
    req: ChatRequest,
) -> Result<ChatStream, LlmError> {
    let mut stream = model.stream(req).await?;
    match stream.next().await {
        Some(Ok(first)) => {
            let done = matches!(first, StreamEvent::Done { .. });
            let head = futures_util::stream::once(async move { Ok(first) });
            Ok(if done {
                Box::pin(head)
            } else {
                Box::pin(head.chain(stream))
            })
        }
        Some(Err(err)) => Err(err),
        None => Err(LlmError::Protocol(
            "the stream ended without any event".into(),
        )),
    }
}

/// Full jitter: a random wait in `[0, cap]`. The standard library's per-instance random hash
/// keys are random enough for spreading retries, and need no extra dependency.
fn jittered(cap: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let fraction = (random >> 11) as f64 / (1u64 << 53) as f64;
    cap.mul_f64(fraction)
}

impl<M: ChatModel> ChatModel for Retrying<M> {
    fn stream(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        let policy = self.policy;
        Box::pin(async move {
            let mut retries = 0;
            let mut backoff_cap = policy.min_delay;
            let mut last_error: Option<LlmError> = None;
            loop {
                if let Some(gate) = &req.attempts {
                    if !gate.try_acquire().await {
                        // Report what kept failing, not the cap itself, when there is one.
                        return Err(last_error.unwrap_or(LlmError::AttemptsExhausted));
                    }
                }
                let err = match open_until_first_event(&self.inner, req.clone()).await {
                    Ok(stream) => return Ok(stream),
                    Err(err) => err,
                };
                if !err.is_retryable() || retries >= policy.max_retries {
                    return Err(err);
                }
                let Some(wait) = policy.next_delay(&err, Some(jittered(backoff_cap))) else {
                    return Err(err);
                };
                tracing::warn!(error = %err, kind = err.kind(), ?wait, "AI provider call failed; retrying");
                tokio::time::sleep(wait).await;
                retries += 1;
                backoff_cap = (backoff_cap * 2).min(policy.max_delay);
                last_error = Some(err);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honours_retry_after_within_bounds() {
        let policy = RetryPolicy::default();
        let limited = |secs| LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(secs)),
        };
        let backoff = Some(Duration::from_millis(700));
        assert_eq!(
            policy.next_delay(&limited(2), backoff),
            Some(Duration::from_secs(2))
        );
        assert_eq!(policy.next_delay(&limited(120), backoff), None);
        assert_eq!(policy.next_delay(&limited(2), None), None);
        assert_eq!(
            policy.next_delay(&LlmError::ServerError(String::new()), backoff),
            backoff
        );
    }
}
