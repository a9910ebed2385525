//! What every job task shares, and what a job's processing hands back to the consumer loop. The
//! consumer, the reclaimer and the job modules all use these; this module uses none of them, so
//! no module imports one that imports it back.

use std::sync::Arc;

use bus::{Bus, BusError, JobConsumer};
use db::{DbError, DbPool};
use domain::events::Usage;
use llm::{ChatModel, LlmError, Router};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::cache::Caches;
use crate::cancel::InFlight;
use crate::config::WorkerConfig;
use crate::metrics::Outcome;

/// What every job task shares.
pub struct Context {
    pub db: DbPool,
    pub bus: Bus,
    pub router: Arc<Router>,
    pub cfg: WorkerConfig,
    pub consumer: JobConsumer,
    pub in_flight: InFlight,
    pub caches: Caches,
}

/// What a job's processing decided; the consumer acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disposition {
    pub outcome: Outcome,
    /// True once the outcome is persisted: the entry may be acknowledged.
    pub ack: bool,
}

impl Disposition {
    pub fn ack(outcome: Outcome) -> Self {
        Self { outcome, ack: true }
    }

    /// Leave the entry pending: it is redelivered after the reclaim idle time.
    pub fn keep(outcome: Outcome) -> Self {
        Self {
            outcome,
            ack: false,
        }
    }
}

/// Why a job failed on our side (not the provider's): the entry is left for redelivery.
#[derive(Debug)]
pub enum InfraError {
    Db(DbError),
    Bus(BusError),
}

impl std::fmt::Display for InfraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InfraError::Db(e) => write!(f, "database: {e}"),
            InfraError::Bus(e) => write!(f, "redis: {e}"),
        }
    }
}

impl From<DbError> for InfraError {
    fn from(e: DbError) -> Self {
        InfraError::Db(e)
    }
}

impl From<BusError> for InfraError {
    fn from(e: BusError) -> Self {
        InfraError::Bus(e)
    }
}

/// Takes a permit, then up to `max` more without waiting. `None` once `stop` is cancelled.
pub(crate) async fn take_permits(
    permits: &Arc<Semaphore>,
    max: usize,
    stop: &CancellationToken,
) -> Option<Vec<OwnedSemaphorePermit>> {
    let first = tokio::select! {
        _ = stop.cancelled() => return None,
        p = permits.clone().acquire_owned() => p.ok()?,
    };
    let mut batch = vec![first];
    while batch.len() < max {
        match permits.clone().try_acquire_owned() {
            Ok(p) => batch.push(p),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// The model for a job: the first of `candidates` the router can serve, else the default.
/// A preference naming a provider that is not configured is skipped, not fatal.
pub(crate) fn resolve_model(
    router: &Router,
    candidates: &[Option<&str>],
) -> Result<(Arc<dyn ChatModel>, String), LlmError> {
    for candidate in candidates.iter().flatten() {
        match router.resolve(Some(candidate)) {
            Ok(resolved) => return Ok(resolved),
            Err(e) => {
                tracing::warn!(model = candidate, error = %e, "model preference unavailable; trying the next")
            }
        }
    }
    router.resolve(None)
}

/// Usage when the provider reported none (some OpenAI-compatible servers, and stopped replies):
/// the prompt estimate and the estimate of the text generated.
pub(crate) fn usage_or_estimate(usage: Option<Usage>, prompt_estimate: usize, text: &str) -> Usage {
    match usage {
        Some(u) if u.prompt_tokens > 0 || u.completion_tokens > 0 => u,
        _ => Usage {
            prompt_tokens: i64::try_from(prompt_estimate).unwrap_or(i64::MAX),
            completion_tokens: i64::try_from(llm::budget::estimate_tokens(text))
                .unwrap_or(i64::MAX),
            cached_prompt_tokens: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_only_when_the_provider_reported_nothing() {
        let reported = Usage {
            prompt_tokens: 10,
            completion_tokens: 2,
            cached_prompt_tokens: 0,
        };
        assert_eq!(usage_or_estimate(Some(reported), 99, "abcd"), reported);
        let estimated = usage_or_estimate(Some(Usage::default()), 99, "abcdefgh");
        assert_eq!(
            (estimated.prompt_tokens, estimated.completion_tokens),
            (99, 2)
        );
    }
}
