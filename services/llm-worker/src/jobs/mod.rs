//! The jobs a worker runs, one module per kind, and what they share:
//!
//! - [`reply`]: one reply (regenerate, variant, continue) job, idempotent on its job id;
//! - [`story`]: one story job;
//! - [`failure`]: what a provider failure becomes — a retry scheduled for later, a redelivery,
//!   or a failure reported to the user with its reason — and the per-job cap on upstream
//!   requests.
//!
//! These modules use [`crate::context`] and the leaf modules (prompt, stream, metrics), never
//! the consumer or the reclaimer that call them.

pub mod failure;
pub mod reply;
pub mod story;

use std::sync::Arc;

use bus::JobDelivery;
use domain::jobs::JobKind;
use tokio_util::sync::CancellationToken;

use crate::context::{Context, Disposition};

/// Runs one delivery of a job of any kind. Never acks itself: it says whether the entry may be
/// acked.
pub async fn run(
    ctx: &Arc<Context>,
    delivery: &JobDelivery,
    cancel: &CancellationToken,
    lost: &CancellationToken,
) -> Disposition {
    match delivery.job.kind {
        JobKind::Reply | JobKind::Regenerate | JobKind::Variant | JobKind::Continue => {
            reply::run(ctx, delivery, cancel, lost).await
        }
        JobKind::Story => story::run(ctx, delivery, cancel, lost).await,
    }
}
