//! llm-worker: consumes generation jobs from `llm.jobs` and talks to AI providers (DESIGN §4, §7).
//! Its HTTP port serves only the operational endpoints.
//!
//! - [`consumer`]: the consumer-group loop — bounded concurrency, graceful drain;
//! - [`reclaim`]: takes over the jobs of dead workers and reports dead-lettered ones;
//! - [`cache`]: short-lived caches of cards, common prompts and names;
//! - [`lease`]: keeps a long job this worker's while it runs;
//! - [`outbox`]: relays accepted jobs Redis lost and fails replies stuck with no live job;
//! - [`cancel`]: jobs in flight by job id, stop requests;
//! - [`context`]: what every job shares and hands back (no imports of the modules above it);
//! - [`jobs`]: the jobs — `reply` (and regenerate), `story`, and `failure` (retries, the
//!   upstream attempt cap, what the user is told);
//! - [`prompt`]: the prompt from common prompts, the character card and trimmed history;
//! - [`stream`]: drives a provider stream, coalescing deltas onto the event log;
//! - [`config`] and [`metrics`]: knobs and metric names.

pub mod cache;
pub mod cancel;
pub mod config;
pub mod consumer;
pub mod context;
pub mod jobs;
pub mod lease;
pub mod metrics;
pub mod outbox;
pub mod prompt;
pub mod reclaim;
pub mod startup;
pub mod stream;

pub use config::WorkerConfig;
pub use consumer::Worker;
/// Re-exported so callers (tests, the bench) stop a worker without naming tokio-util.
pub use tokio_util::sync::CancellationToken;
