//! The consumer loop: reads `llm.jobs` as one consumer of the `llm-worker` group, runs up to
//! `max_concurrent` jobs at once (generations are I/O-bound: many per process), takes over the
//! jobs of dead workers, and on stop drains in-flight jobs for at most the shutdown timeout.
//!
//! Concurrency is a semaphore: the reader and the reclaimer take a permit per job *before*
//! asking Redis for work, so this worker never holds more jobs than it can run — jobs it cannot
//! start stay in the stream for other workers. A job's permit lives as long as its task.
//!
//! Acknowledgement happens only in `handle`, after the job's outcome is persisted. Nothing
//! else acks: a job dropped on the floor (stop, abort, crash) stays pending and is reclaimed.

use std::sync::Arc;
use std::time::Duration;

use bus::{Bus, JobConsumer, JobDelivery};
use db::DbPool;
use llm::Router;
use platform::Settings;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::cache::Caches;
use crate::cancel::{self, InFlight};
use crate::config::{router_config, WorkerConfig};
use crate::context::{take_permits, Context, Disposition};
use crate::metrics::{self, InFlightGuard, Outcome};
use crate::{jobs, lease, outbox, reclaim};

/// The most jobs asked for in one `XREADGROUP`.
const READ_BATCH: usize = 32;

/// A worker ready to run. Building it touches neither Redis nor the database, so a worker starts
/// while they are down and begins consuming once they are back.
pub struct Worker {
    db: DbPool,
    bus: Bus,
    router: Arc<Router>,
    cfg: WorkerConfig,
}

impl Worker {
    /// The worker described by `settings`, with the providers they configure.
    pub fn build(settings: &Settings, db: DbPool, bus: Bus) -> anyhow::Result<Worker> {
        install_crypto_provider();
        let router = Router::new(router_config(settings))?;
        Ok(Self::with_router(
            WorkerConfig::from_settings(settings),
            router,
            db,
            bus,
        ))
    }

    pub fn with_router(cfg: WorkerConfig, router: Router, db: DbPool, bus: Bus) -> Worker {
        Worker {
            db,
            bus,
            router: Arc::new(router),
            cfg,
        }
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.cfg
    }

    /// Consumes jobs until `stop` is cancelled, then stops reading, gives in-flight jobs up to
    /// the shutdown timeout to finish, and abandons the rest unacknowledged.
    pub async fn run(self, stop: CancellationToken) {
        let router = self.router.clone();
        tracing::info!(
            consumer = %self.cfg.consumer,
            providers = ?router.providers(),
            default_model = router.default_model(),
            mock_only = router.is_mock_only(),
            max_concurrent = self.cfg.max_concurrent,
            "llm-worker consuming {}",
            if router.is_mock_only() {
                "with the mock provider only (no API key configured)"
            } else {
                "with real AI providers"
            }
        );
        let Some(consumer) = self.join_group(&stop).await else {
            return;
        };
        let caches = Caches::new(self.cfg.cache_ttl);
        let ctx = Arc::new(Context {
            db: self.db,
            bus: self.bus,
            router,
            cfg: self.cfg,
            caches,
            consumer,
            in_flight: InFlight::default(),
        });
        let permits = Arc::new(Semaphore::new(ctx.cfg.max_concurrent));
        let (tx, mut rx) = mpsc::channel::<(JobDelivery, OwnedSemaphorePermit)>(READ_BATCH);

        // Helpers are owned here: aborting `run` (a killed worker) drops them with it.
        let mut helpers = JoinSet::new();
        helpers.spawn(read_loop(
            ctx.clone(),
            permits.clone(),
            tx.clone(),
            stop.clone(),
        ));
        helpers.spawn(reclaim::run(ctx.clone(), permits.clone(), tx, stop.clone()));
        helpers.spawn(outbox::run(ctx.clone(), stop.clone()));
        let listening = CancellationToken::new();
        helpers.spawn(cancel::listen(
            ctx.bus.clone(),
            ctx.in_flight.clone(),
            listening.clone(),
        ));

        let mut jobs = JoinSet::new();
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                Some((delivery, permit)) = rx.recv() => {
                    jobs.spawn(handle(ctx.clone(), delivery, permit));
                }
                Some(_) = jobs.join_next(), if !jobs.is_empty() => {}
            }
        }

        // Deliveries read but not started stay pending in Redis: another worker (or this one,
        // restarted) reclaims them.
        drop(rx);
        let in_flight = jobs.len();
        if in_flight > 0 {
            tracing::info!(in_flight, timeout = ?ctx.cfg.shutdown_timeout, "draining in-flight jobs");
        }
        let drained = tokio::time::timeout(ctx.cfg.shutdown_timeout, async {
            while jobs.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                unfinished = jobs.len(),
                "shutdown timeout: leaving unfinished jobs unacknowledged for another worker"
            );
            jobs.shutdown().await;
        }
        listening.cancel();
        helpers.shutdown().await;
        tracing::info!("llm-worker stopped");
    }

    /// Joins the consumer group, retrying while Redis is unreachable.
    async fn join_group(&self, stop: &CancellationToken) -> Option<JobConsumer> {
        let mut wait = Duration::from_millis(200);
        loop {
            match self
                .bus
                .job_consumer(&self.cfg.group, &self.cfg.consumer)
                .await
            {
                Ok(consumer) => return Some(consumer),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot join the job consumer group; retrying")
                }
            }
            tokio::select! {
                _ = stop.cancelled() => return None,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }
}

/// reqwest is built without a default TLS backend (`llm` picks ring and installs it, but only
/// when it builds a real provider's client). A mock-only worker would otherwise have no
/// process-wide provider, and any HTTPS client made later in the process would panic.
fn install_crypto_provider() {
    // Err means one is installed already: fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

async fn read_loop(
    ctx: Arc<Context>,
    permits: Arc<Semaphore>,
    tx: mpsc::Sender<(JobDelivery, OwnedSemaphorePermit)>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    while let Some(mut batch) = take_permits(&permits, READ_BATCH, &stop).await {
        match ctx.consumer.read(batch.len(), ctx.cfg.read_block).await {
            Ok(deliveries) => {
                backoff = Duration::from_millis(100);
                for delivery in deliveries {
                    let Some(permit) = batch.pop() else { break };
                    if tx.send((delivery, permit)).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                drop(batch);
                tracing::warn!(error = %e, "reading jobs failed; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Runs one delivery to its end and acknowledges it if its outcome says so.
async fn handle(ctx: Arc<Context>, delivery: JobDelivery, _permit: OwnedSemaphorePermit) {
    use tracing::field::Empty;
    // The job's span (issue 23) is a child of the request that enqueued it: its trace context
    // travels in the job (`TracedJob`), so one trace follows the message from the REST call or
    // WebSocket frame through this worker to the provider and back out to the gateways.
    let span = tracing::info_span!(
        "job",
        otel.name = %format_args!("llm.jobs process {:?}", delivery.job.kind),
        otel.kind = "consumer",
        messaging.system = "redis",
        messaging.destination.name = "llm.jobs",
        job_id = %delivery.job.job_id,
        entry = %delivery.id,
        attempt = delivery.deliveries,
        kind = ?delivery.job.kind,
        conversation_id = Empty,
        outcome = Empty,
        otel.status_code = Empty,
        trace_id = Empty,
        span_id = Empty,
    );
    if let Some(conversation) = delivery.job.conversation_id {
        span.record("conversation_id", tracing::field::display(conversation));
    }
    if platform::telemetry::exporting() {
        if let Some(trace) = &delivery.trace {
            trace.parent_of(&span);
        }
        platform::telemetry::record_ids(&span);
    }
    let job_span = span.clone();
    async move {
        let _gauge = InFlightGuard::new();
        let slot = ctx.in_flight.enter(&delivery.job.job_id);
        let lost = CancellationToken::new();
        let keep = async {
            tokio::join!(
                lease::keep(
                    ctx.consumer.clone(),
                    delivery.id.clone(),
                    ctx.cfg.touch_interval,
                    ctx.cfg.lease,
                    lost.clone(),
                ),
                outbox::remember_while_running(
                    ctx.bus.clone(),
                    delivery.job.job_id.clone(),
                    ctx.cfg.touch_interval,
                ),
            )
        };
        let work = async {
            // A second delivery of a job running here waits, then finds it finished.
            let _turn = slot.turn().await;
            jobs::run(&ctx, &delivery, slot.cancel_token(), &lost).await
        };
        let disposition = tokio::select! {
            d = work => d,
            // `keep` never returns (both halves loop forever); this arm cannot win.
            _ = keep => Disposition::keep(Outcome::Abandoned),
        };
        let disposition = if lost.is_cancelled() && disposition.ack {
            // Another worker owns the entry now; its ack is the one that counts.
            Disposition::keep(Outcome::Abandoned)
        } else {
            disposition
        };
        if disposition.ack {
            if let Err(e) = ctx.consumer.ack(&delivery.id).await {
                // Left pending: redelivered, it finds its reply finished and is acked then.
                tracing::warn!(error = %e, "acknowledging the job failed");
            }
        } else if matches!(disposition.outcome, Outcome::Retry | Outcome::Error) {
            // Left for redelivery: hold the lease for the redelivery delay so the retry waits
            // instead of starting within a lease. (An abandoned job's lease simply runs out.)
            if let Err(e) = ctx.consumer.touch(&delivery.id, ctx.cfg.reclaim_idle).await {
                tracing::warn!(error = %e, "could not hold the job for its redelivery");
            }
        }
        metrics::job_finished(disposition.outcome);
        job_span.record("outcome", disposition.outcome.as_str());
        if matches!(
            disposition.outcome,
            Outcome::Failed | Outcome::Error | Outcome::DeadLettered
        ) {
            job_span.record("otel.status_code", "ERROR");
        }
        tracing::debug!(outcome = disposition.outcome.as_str(), "job finished");
    }
    .instrument(span)
    .await
}
