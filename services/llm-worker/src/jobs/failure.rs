//! What a provider failure becomes, the same for replies and stories:
//!
//! - every upstream request of a job is counted in Redis by job id ([`UpstreamAttempts`]), so
//!   retries, fallbacks, redeliveries and rescheduled runs share one cap
//!   (`max_upstream_attempts`);
//! - a retryable failure with attempts left is retried later: at the provider's `retry-after`
//!   when it sent one, by scheduling the job for then and acknowledging the entry, so no worker
//!   holds it meanwhile;
//! - otherwise the user is told at once, with the specific [`FailureCode`] and whether asking
//!   again may help.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bus::Bus;
use domain::events::FailureCode;
use futures_util::future::BoxFuture;
use llm::{AttemptGate, Attempts, LlmError};

use crate::config::WorkerConfig;

/// How long a job's attempt counter outlives its last use: longer than any job lives.
const ATTEMPTS_TTL: Duration = Duration::from_secs(24 * 3600);

/// The wait before retrying a retryable failure that named no `retry-after`.
const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(2);

/// What the user is told about a failed reply or story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: FailureCode,
    /// Short, for people; never the provider's own text.
    pub reason: String,
    /// Whether asking again may succeed.
    pub retryable: bool,
}

impl Failure {
    pub fn from_llm(error: &LlmError) -> Self {
        Self {
            code: error.code(),
            reason: error.reason().to_owned(),
            // Out of attempts for now: the cause was transient, a new request may well work.
            retryable: error.is_retryable() || matches!(error, LlmError::AttemptsExhausted),
        }
    }

    /// The provider finished without any text: nothing to store as a reply.
    pub fn empty_reply() -> Self {
        Self {
            code: FailureCode::EmptyReply,
            reason: "The AI provider returned an empty reply.".to_owned(),
            retryable: true,
        }
    }
}

/// Counts a job's upstream requests in Redis and refuses those beyond the cap.
pub struct UpstreamAttempts {
    bus: Bus,
    job_id: String,
    max: u32,
    /// The count after this process's last request (0: none yet).
    used: AtomicU32,
}

impl UpstreamAttempts {
    pub fn new(bus: Bus, job_id: &str, max: u32) -> Arc<Self> {
        Arc::new(Self {
            bus,
            job_id: job_id.to_owned(),
            max: max.max(1),
            used: AtomicU32::new(0),
        })
    }

    /// The gate to put on the job's [`llm::ChatRequest`].
    pub fn gate(self: &Arc<Self>) -> Attempts {
        Attempts::new(self.clone())
    }

    /// No request may be made any more.
    pub fn spent(&self) -> bool {
        self.used.load(Ordering::Relaxed) >= self.max
    }
}

impl AttemptGate for UpstreamAttempts {
    fn try_acquire(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            match self.bus.count_job_attempt(&self.job_id, ATTEMPTS_TTL).await {
                Ok(n) => {
                    self.used.fetch_max(n, Ordering::Relaxed);
                    n <= self.max
                }
                Err(e) => {
                    // Counting is a cost control, not a reason to fail a reply: without Redis
                    // the per-call retry limit still bounds this delivery.
                    tracing::warn!(error = %e, "could not count an upstream attempt; allowing it");
                    true
                }
            }
        })
    }
}

/// What to do after a provider failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Tell the user now.
    Fail(Failure),
    /// Run the job again after this wait (scheduled in Redis; the entry is acknowledged).
    RetryAfter(Duration),
    /// Leave the entry for redelivery: part of the reply was streamed, and the next delivery
    /// starts it over as a new attempt (clients drop the partial text on `attempt` > 1).
    Redeliver,
}

/// Decides what a provider failure becomes. `streamed` is whether part of the reply reached
/// clients before it.
pub fn next_step(
    cfg: &WorkerConfig,
    attempts: &UpstreamAttempts,
    error: &LlmError,
    streamed: bool,
) -> Next {
    if !error.is_retryable() || attempts.spent() {
        return Next::Fail(Failure::from_llm(error));
    }
    if streamed {
        return Next::Redeliver;
    }
    match error.retry_after() {
        // Longer than anyone should wait for a chat reply: say so; asking later may work.
        Some(wait) if wait > cfg.max_scheduled_wait => Next::Fail(Failure::from_llm(error)),
        Some(wait) => Next::RetryAfter(wait),
        None => Next::RetryAfter(DEFAULT_RETRY_DELAY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_retryability() {
        let limited = Failure::from_llm(&LlmError::RateLimited { retry_after: None });
        assert_eq!(limited.code, FailureCode::RateLimited);
        assert!(limited.retryable);
        let auth = Failure::from_llm(&LlmError::Auth("bad key".into()));
        assert_eq!((auth.code, auth.retryable), (FailureCode::Auth, false));
        assert!(!auth.reason.contains("bad key"), "no provider text");
        let spent = Failure::from_llm(&LlmError::AttemptsExhausted);
        assert!(spent.retryable);
        assert_eq!(Failure::empty_reply().code, FailureCode::EmptyReply);
    }
}
