//! The job outbox relay and the stuck-reply sweeper (DESIGN §4, issue 14). Every worker runs
//! both every `outbox_interval`; both are idempotent, so no leader is needed.
//!
//! Why here and not in api-service: the worker already owns the job stream's consumer group and
//! its recovery (reclaim, dead letters), it knows which jobs it is running, and api-service stays
//! a stateless request handler that can scale to zero background work.
//!
//! - **Relay**: api-service stores each accepted job in `job_outbox` with its message and puts it
//!   on `llm.jobs` at once. A row older than `outbox_relay_after` whose reply is finished is
//!   removed; one whose job Redis no longer knows (its enqueue marker is gone: Redis lost data)
//!   is put on the stream again with `enqueue_job_once`, so racing relays put it once. The
//!   worker is idempotent on the job id, so a job that was in fact still running is harmless
//!   (a running job marks itself again every touch interval, see [`remember_while_running`],
//!   so that window is short).
//! - **Sweeper**: a reply `streaming` for longer than `outbox_relay_after` whose job Redis does
//!   not know, that no outbox row can bring back and that this worker is not running, is marked
//!   `failed` and the client is told (`message.failed`, `unavailable`, retryable).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use db::outbox::OutboxRow;
use domain::events::{ConversationEvent, EventPayload, FailureCode};
use domain::jobs::{LlmJob, TracedJob};
use domain::{MessageStatus, StoryStatus};
use tokio_util::sync::CancellationToken;

use crate::context::{Context, InfraError};
use crate::metrics;

/// Rows looked at per round; the rest wait for the next round.
const BATCH: i64 = 200;

/// What one round did (for logs and tests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Jobs put on the stream again.
    pub relayed: usize,
    /// Rows removed because their reply was finished or they outlived the retention.
    pub cleared: usize,
    /// Stuck replies marked failed.
    pub failed: usize,
}

pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(ctx.cfg.outbox_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match round(&ctx).await {
            Ok(r) if r != Round::default() => tracing::info!(
                relayed = r.relayed,
                cleared = r.cleared,
                failed = r.failed,
                "job outbox round"
            ),
            Ok(_) => {}
            // Redis or the database is down: the next round tries again.
            Err(e) => tracing::warn!(error = %e, "job outbox round failed"),
        }
    }
}

/// One relay round and one sweep.
pub async fn round(ctx: &Context) -> Result<Round, InfraError> {
    let mut r = relay(ctx).await?;
    r.failed = sweep(ctx).await?;
    Ok(r)
}

async fn relay(ctx: &Context) -> Result<Round, InfraError> {
    let now = Utc::now().naive_utc();
    let retention = chrono::Duration::from_std(ctx.cfg.outbox_retention).unwrap_or_default();
    let relay_after = chrono::Duration::from_std(ctx.cfg.outbox_relay_after).unwrap_or_default();
    let (expired, rows) = db::run(&ctx.db, move |c| {
        let expired = db::outbox::remove_older_than(c, now - retention)?;
        Ok((expired, db::outbox::due(c, now - relay_after, BATCH)?))
    })
    .await?;
    let mut round = Round {
        cleared: expired,
        ..Round::default()
    };
    let running = ctx.in_flight.job_ids();
    for row in rows {
        let (job, trace) = match serde_json::from_str::<TracedJob>(&row.payload) {
            Ok(TracedJob { job, trace }) => (job, trace),
            Err(e) => {
                // Written by a newer or broken release: nothing here can run it.
                tracing::error!(job_id = %row.job_id, error = %e, "undecodable outbox row removed");
                remove(ctx, &row).await?;
                round.cleared += 1;
                continue;
            }
        };
        if finished(ctx, &job).await? {
            remove(ctx, &row).await?;
            round.cleared += 1;
        } else if !running.contains(&job.job_id)
            && !ctx.bus.job_known(&job.job_id).await?
            // With the request's trace context: the relayed job's spans join the original trace.
            && ctx
                .bus
                .enqueue_traced_job_once(&job, trace, bus::JOB_MEMORY)
                .await?
        {
            tracing::warn!(
                job_id = %job.job_id,
                relays = row.relays + 1,
                "Redis lost an accepted job; put it on the stream again from the outbox"
            );
            let id = row.id;
            db::run(&ctx.db, move |c| db::outbox::mark_relayed(c, id)).await?;
            metrics::outbox_relayed();
            round.relayed += 1;
        }
    }
    Ok(round)
}

/// Keeps Redis knowing a job while it runs here: marks it at once (jobs enqueued without a
/// marker, by older releases or tools, get one) and again every `every`, so after Redis lost its
/// data a running job is marked again within `every` and other workers' relays and sweepers do
/// not take it for a lost one. Never returns; drop it when the job ends.
pub async fn remember_while_running(bus: bus::Bus, job_id: String, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = bus.remember_job(&job_id, bus::JOB_MEMORY).await {
            tracing::warn!(%job_id, error = %e, "marking the job as known failed");
        }
    }
}

async fn remove(ctx: &Context, row: &OutboxRow) -> Result<(), InfraError> {
    let job_id = row.job_id.clone();
    db::run(&ctx.db, move |c| db::outbox::remove(c, &job_id)).await?;
    Ok(())
}

/// Whether the job's outcome is stored: its reply is complete, failed or cancelled (a dead
/// letter marks it failed), the message it answers was deleted, or its story is finished or
/// gone.
async fn finished(ctx: &Context, job: &LlmJob) -> Result<bool, InfraError> {
    let (job_id, story, trigger) = (job.job_id.clone(), job.story_id, job.trigger_message_id);
    Ok(db::run(&ctx.db, move |c| match story {
        Some(id) => match db::stories::find(c, id) {
            Ok(s) => Ok(!matches!(
                s.status,
                StoryStatus::Pending | StoryStatus::Streaming
            )),
            Err(db::DbError::NotFound) => Ok(true),
            Err(e) => Err(e),
        },
        None => {
            if let Some(reply) = db::messages::find_by_job_id(c, &job_id)? {
                return Ok(reply.status != MessageStatus::Streaming);
            }
            // No reply yet: finished only if there is nothing left to answer (the worker
            // acknowledges such a job without storing anything).
            match trigger.map(|id| db::messages::find(c, id)) {
                Some(Ok(m)) => Ok(m.deleted_at.is_some()),
                Some(Err(db::DbError::NotFound)) => Ok(true),
                Some(Err(e)) => Err(e),
                None => Ok(false),
            }
        }
    })
    .await?)
}

/// Fails replies stuck in `streaming` whose job nothing will run again. Returns how many.
async fn sweep(ctx: &Context) -> Result<usize, InfraError> {
    let relay_after = chrono::Duration::from_std(ctx.cfg.outbox_relay_after).unwrap_or_default();
    let before = Utc::now().naive_utc() - relay_after;
    let stuck = db::run(&ctx.db, move |c| {
        db::outbox::streaming_replies_before(c, before, BATCH)
    })
    .await?;
    let running = ctx.in_flight.job_ids();
    let mut failed = 0;
    for reply in stuck {
        let Some(job_id) = reply.job_id.clone() else {
            continue;
        };
        if running.contains(&job_id) || ctx.bus.job_known(&job_id).await? {
            // Live here, or Redis still has it: reclaim or the dead letter finishes it.
            continue;
        }
        let (lookup, id) = (job_id.clone(), reply.id);
        let marked = db::run(&ctx.db, move |c| {
            // The relay resumes jobs it still has; only orphans are failed.
            if db::outbox::contains(c, &lookup)? {
                return Ok(None);
            }
            db::outbox::fail_if_streaming(c, id)
        })
        .await?;
        if marked.is_none() {
            continue;
        }
        tracing::warn!(%job_id, message_id = %reply.id, "reply stuck streaming with its job lost; marked failed");
        ctx.bus
            .publish(
                reply.conversation_id,
                &EventPayload::from(ConversationEvent::Failed {
                    job_id,
                    reason: "The reply was interrupted and could not be resumed. Please try again."
                        .to_owned(),
                    // The cause was infrastructure, not the request: asking again may well work.
                    retryable: true,
                    code: Some(FailureCode::Unavailable),
                }),
            )
            .await?;
        metrics::stuck_reply_failed();
        failed += 1;
    }
    Ok(failed)
}
