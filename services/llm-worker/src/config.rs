//! The worker's knobs, read once from [`Settings`], and the provider router built from them.

use std::time::Duration;

use llm::{RetryPolicy, RouterConfig, Timeouts};
use platform::Settings;

/// The consumer group every worker joins (DESIGN: consumer group = service name).
pub const GROUP: &str = "llm-worker";

/// What the consumer loop and the job processors need, in plain units.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub group: String,
    /// Unique per process, so a restarted worker never inherits a dead one's pending entries by
    /// name (they are reclaimed instead, which counts the delivery).
    pub consumer: String,
    /// Generations in flight at once in this process.
    pub max_concurrent: usize,
    pub max_deliveries: u32,
    /// Upstream requests one job may make in all (retries, fallbacks, redeliveries).
    pub max_upstream_attempts: u32,
    /// A provider's `retry-after` longer than this fails the job at once instead of
    /// scheduling it.
    pub max_scheduled_wait: Duration,
    /// How long a job left for redelivery waits before it is retried.
    pub reclaim_idle: Duration,
    pub reclaim_interval: Duration,
    /// A running job's lease; a job whose lease ran out is taken over (see `lease.rs`).
    pub lease: Duration,
    /// How often a running job's lease is renewed: at most a third of the lease, so two
    /// renewals may fail (a Redis blip) before a live job can be taken.
    pub touch_interval: Duration,
    pub coalesce: Duration,
    /// How long in-flight jobs may run on after a stop before they are abandoned un-acked.
    pub shutdown_timeout: Duration,
    pub max_output_tokens: u32,
    /// 0 = the model's context window alone limits the prompt.
    pub max_prompt_tokens: usize,
    pub history_messages: i64,
    /// Scan depth and token budget of lorebooks that name none.
    pub lore_defaults: crate::prompt::LoreDefaults,
    /// The longest a read blocks; bounds how late a stop is noticed by the reader.
    pub read_block: Duration,
    pub cache_ttl: Duration,
    /// How often the outbox relay and the stuck-reply sweeper run.
    pub outbox_interval: Duration,
    /// How long a job may be unknown to Redis (or a reply stream with no live job) before the
    /// relay puts it again (or the sweeper fails it).
    pub outbox_relay_after: Duration,
    /// Outbox rows older than this are removed even if unfinished.
    pub outbox_retention: Duration,
}

impl WorkerConfig {
    pub fn from_settings(settings: &Settings) -> Self {
        let llm = &settings.llm;
        let reclaim_idle = Duration::from_millis(llm.reclaim_idle_ms.max(100));
        // A dead worker's job never waits longer than a job left for redelivery.
        let lease = Duration::from_millis(llm.lease_ms.max(30)).min(reclaim_idle);
        let touch_interval = Duration::from_millis(llm.heartbeat_ms.max(10)).min(lease / 3);
        Self {
            group: GROUP.to_owned(),
            consumer: consumer_name(),
            max_concurrent: llm.max_concurrent_jobs.max(1),
            max_deliveries: llm.max_deliveries.max(1),
            max_upstream_attempts: llm.max_upstream_attempts.max(1),
            max_scheduled_wait: Duration::from_secs(llm.max_scheduled_wait_secs),
            reclaim_idle,
            reclaim_interval: Duration::from_millis(llm.reclaim_interval_ms.max(10)),
            lease,
            touch_interval,
            coalesce: Duration::from_millis(llm.delta_coalesce_ms),
            shutdown_timeout: Duration::from_secs(settings.http.shutdown_timeout_secs),
            max_output_tokens: llm.max_output_tokens.max(1),
            max_prompt_tokens: llm.max_prompt_tokens,
            history_messages: llm.history_messages.max(1),
            lore_defaults: crate::prompt::LoreDefaults {
                scan_depth: llm.lorebook_scan_depth,
                token_budget: llm.lorebook_token_budget.max(1),
            },
            read_block: Duration::from_millis(500),
            cache_ttl: Duration::from_millis(llm.cache_ttl_ms),
            outbox_interval: Duration::from_millis(llm.outbox_interval_ms.max(10)),
            outbox_relay_after: Duration::from_millis(llm.outbox_relay_after_ms),
            // Never longer than the bus remembers job ids: a row kept beyond that could be
            // taken for a lost job and run twice.
            outbox_retention: Duration::from_secs(llm.outbox_retention_secs).min(bus::JOB_MEMORY),
        }
    }
}

/// `hostname/pid/uuid`: readable in `XINFO CONSUMERS`, unique across restarts.
pub fn consumer_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &id[..8])
}

fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The router's configuration: providers with a key (or a base URL, for `compat`) are
/// registered; without any, the mock answers everything.
pub fn router_config(settings: &Settings) -> RouterConfig {
    let llm = &settings.llm;
    RouterConfig {
        openai_api_key: non_empty(&llm.openai_api_key),
        openai_base_url: non_empty(&llm.openai_base_url),
        anthropic_api_key: non_empty(&llm.anthropic_api_key),
        anthropic_base_url: non_empty(&llm.anthropic_base_url),
        gemini_api_key: non_empty(&llm.gemini_api_key),
        gemini_base_url: non_empty(&llm.gemini_base_url),
        compat_base_url: non_empty(&llm.compat_base_url),
        compat_api_key: non_empty(&llm.compat_api_key),
        mock_tokens_per_sec: f64::from(llm.mock_tokens_per_sec),
        default_model: non_empty(&llm.default_model),
        aliases: llm.aliases.clone(),
        fallbacks: llm.fallbacks.clone(),
        timeouts: Timeouts {
            connect: Duration::from_secs(llm.connect_timeout_secs.max(1)),
            first_token: Duration::from_secs(llm.first_token_timeout_secs.max(1)),
            idle: Duration::from_secs(llm.idle_timeout_secs.max(1)),
        },
        retry: RetryPolicy {
            max_retries: llm.max_retries,
            // Longer waits are not held inside the call: the job is scheduled for then.
            max_retry_after: Duration::from_secs(llm.max_retry_wait_secs),
            ..RetryPolicy::default()
        },
    }
}
