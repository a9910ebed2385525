//! Connection settings of the bus. A plain struct so services and tests can build it directly.

use std::time::Duration;

/// Settings of a [`crate::Bus`]. Build it with [`BusConfig::new`] (or `..Default::default()`) so
/// fields added later do not break callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusConfig {
    /// `redis://[user:password@]host:port[/db]` (or `rediss://`, `unix://`).
    pub url: String,
    /// Prepended to every key and every channel. Pub/sub channels are not scoped by database
    /// number, so this prefix is what keeps two deployments (or two tests) on one server apart.
    pub key_prefix: String,
    /// Approximate number of events retained per conversation log (`XADD MAXLEN ~`).
    pub log_max_len: usize,
    /// A conversation log, its counter and epoch expire this long after the last event.
    pub log_ttl_secs: u64,
    /// Maximum number of pooled (multiplexed) connections for ordinary commands.
    pub pool_size: usize,
    /// Time allowed to open a TCP connection to Redis.
    pub connect_timeout: Duration,
    /// Time allowed for one ordinary command, and for waiting on a pooled connection. redis-rs
    /// defaults to 500 ms, which a loaded 2-core machine can exceed without Redis being down.
    pub command_timeout: Duration,
    /// Approximate cap on the job stream (`XADD MAXLEN ~`), so acknowledged jobs do not pile up.
    /// Far above any sane backlog: trimming drops the oldest entries, acknowledged or not.
    pub job_stream_max_len: usize,
}

impl BusConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// The same settings with another key prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".to_owned(),
            key_prefix: String::new(),
            log_max_len: 10_000,
            log_ttl_secs: 86_400,
            pool_size: 16,
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(5),
            job_stream_max_len: 1_000_000,
        }
    }
}
