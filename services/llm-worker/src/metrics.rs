//! The worker's metrics, through the `metrics` facade (rendered at `/metrics` by platform).
//! Names live here so dashboards and code agree.

use std::time::Duration;

pub const JOBS_TOTAL: &str = "worker_jobs_total";
pub const TIME_TO_FIRST_TOKEN: &str = "worker_time_to_first_token_seconds";
pub const TOKENS_STREAMED: &str = "worker_tokens_streamed_total";
pub const PROVIDER_ERRORS: &str = "worker_provider_errors_total";
pub const JOBS_IN_FLIGHT: &str = "worker_jobs_in_flight";
/// Accepted jobs a relay put on the stream again because Redis had lost them.
pub const OUTBOX_RELAYED: &str = "worker_outbox_relayed_total";
/// Replies stuck `streaming` with no live job that the sweeper failed.
pub const STUCK_REPLIES_FAILED: &str = "worker_stuck_replies_failed_total";

/// How a delivery of a job ended, the `outcome` label of [`JOBS_TOTAL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Reply stored complete and acknowledged.
    Completed,
    /// Stopped by the user; partial reply stored as cancelled, acknowledged.
    Cancelled,
    /// A non-retryable provider error; stored as failed, acknowledged.
    Failed,
    /// A retryable error after part of the reply streamed; left unacknowledged for redelivery.
    Retry,
    /// A retryable error before any text; the job is scheduled again for later, acknowledged.
    Scheduled,
    /// The job was finished before (a duplicate or redelivery); acknowledged, nothing redone.
    Duplicate,
    /// Another worker took the job over; dropped without acknowledging.
    Abandoned,
    /// Moved to the dead-letter stream after too many deliveries.
    DeadLettered,
    /// Nothing to answer any more (conversation or story gone); acknowledged.
    Skipped,
    /// Database or Redis failed mid-job; left unacknowledged for redelivery.
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Cancelled => "cancelled",
            Outcome::Failed => "failed",
            Outcome::Retry => "retry",
            Outcome::Scheduled => "scheduled",
            Outcome::Duplicate => "duplicate",
            Outcome::Abandoned => "abandoned",
            Outcome::DeadLettered => "dead_lettered",
            Outcome::Skipped => "skipped",
            Outcome::Error => "error",
        }
    }
}

pub fn job_finished(outcome: Outcome) {
    metrics::counter!(JOBS_TOTAL, "outcome" => outcome.as_str()).increment(1);
}

pub fn outbox_relayed() {
    metrics::counter!(OUTBOX_RELAYED).increment(1);
}

pub fn stuck_reply_failed() {
    metrics::counter!(STUCK_REPLIES_FAILED).increment(1);
}

pub fn first_token(after: Duration) {
    metrics::histogram!(TIME_TO_FIRST_TOKEN).record(after.as_secs_f64());
}

pub fn tokens_streamed(n: u64) {
    metrics::counter!(TOKENS_STREAMED).increment(n);
}

pub fn provider_error(kind: &'static str) {
    metrics::counter!(PROVIDER_ERRORS, "kind" => kind).increment(1);
}

/// Counts a job in flight for as long as it lives, also when its task is aborted.
pub struct InFlightGuard(());

impl InFlightGuard {
    pub fn new() -> Self {
        metrics::gauge!(JOBS_IN_FLIGHT).increment(1.0);
        Self(())
    }
}

impl Default for InFlightGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        metrics::gauge!(JOBS_IN_FLIGHT).decrement(1.0);
    }
}
