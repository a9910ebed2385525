//! Taking over the jobs of dead workers (DESIGN §4), and releasing jobs scheduled for later once
//! they are due: every `reclaim_interval` this worker claims
//! entries whose lease ran out (their worker stopped renewing it: it died or hangs, see
//! `lease.rs`; a job left for redelivery after a retryable failure is held for `reclaim_idle`)
//! and runs them like fresh deliveries. Entries
//! delivered `max_deliveries` times are dead-lettered by the bus instead; the worker then tells
//! the client (`message.failed` / `story.failed`) and marks the reply or story failed.

use std::sync::Arc;

use bus::{DeadLetter, JobDelivery};
use domain::jobs::JobKind;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::context::{take_permits, Context};
use crate::jobs::{reply, story};
use crate::metrics::{self, Outcome};

/// The most entries claimed in one round.
const RECLAIM_BATCH: usize = 16;

pub async fn run(
    ctx: Arc<Context>,
    permits: Arc<Semaphore>,
    tx: mpsc::Sender<(JobDelivery, OwnedSemaphorePermit)>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(ctx.cfg.reclaim_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        // Jobs scheduled for later (a provider's long retry-after) whose time has come go back
        // on the stream, where any worker reads them like fresh jobs.
        if let Err(e) = ctx.bus.enqueue_due_jobs(RECLAIM_BATCH).await {
            tracing::warn!(error = %e, "moving scheduled jobs onto the stream failed");
        }
        // Claim only what can start now: a claimed job waiting for a slot would go idle again.
        let Some(mut batch) = take_permits(&permits, RECLAIM_BATCH, &stop).await else {
            return;
        };
        let result = ctx
            .consumer
            .reclaim(ctx.cfg.lease, batch.len(), ctx.cfg.max_deliveries)
            .await;
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "reclaiming idle jobs failed");
                continue;
            }
        };
        for dead in result.dead {
            metrics::job_finished(Outcome::DeadLettered);
            report_dead(&ctx, dead).await;
        }
        for delivery in result.claimed {
            tracing::info!(
                job_id = %delivery.job.job_id,
                entry = %delivery.id,
                attempt = delivery.deliveries,
                "took over a job from an idle worker"
            );
            let Some(permit) = batch.pop() else { break };
            if tx.send((delivery, permit)).await.is_err() {
                return;
            }
        }
    }
}

/// Tells the client a job was given up on. Best effort: the entry is already dead-lettered
/// (and stays inspectable on `llm.jobs.dead`), so a failure here is only logged.
async fn report_dead(ctx: &Context, dead: DeadLetter) {
    let Some(job) = dead.job else {
        tracing::warn!(entry = %dead.id, reason = %dead.reason, "dead-lettered an undecodable job");
        return;
    };
    tracing::warn!(job_id = %job.job_id, deliveries = dead.deliveries, reason = %dead.reason, "job dead-lettered");
    let reported = match (job.kind, job.conversation_id, job.story_id) {
        (JobKind::Story, _, Some(story_id)) => {
            story::report_dead(ctx, &job.job_id, story_id, dead.deliveries).await
        }
        (
            JobKind::Reply | JobKind::Regenerate | JobKind::Variant | JobKind::Continue,
            Some(conversation),
            _,
        ) => {
            reply::report_dead(
                ctx,
                &job.job_id,
                conversation,
                job.trigger_message_id,
                job.kind == JobKind::Continue,
                dead.deliveries,
            )
            .await
        }
        _ => Ok(()),
    };
    if let Err(e) = reported {
        tracing::error!(job_id = %job.job_id, error = %e, "could not report a dead-lettered job");
    }
}
