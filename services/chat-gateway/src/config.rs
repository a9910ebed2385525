//! The gateway's own limits and timings. A plain struct with defaults (tests build it directly);
//! operators override single values with `APP__GATEWAY__<FIELD>` variables, e.g.
//! `APP__GATEWAY__QUEUE_CAPACITY=512`. They live here rather than in `platform::Settings`
//! because no other service reads them.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Frames waiting to be written to one socket. A socket whose queue is full is a slow
    /// consumer: it is closed with 1013 "slow consumer, resume" instead of delaying anyone.
    pub queue_capacity: usize,
    /// Largest client frame answered normally; larger ones get a `payload_too_large` error frame.
    pub max_frame_bytes: usize,
    /// Largest frame the decoder buffers at all. Beyond it the stream cannot be resynchronised,
    /// so the socket is closed with 1009. Twice `max_frame_bytes` by default.
    pub hard_max_frame_bytes: usize,
    /// Client frames per second per connection (sustained), and the burst allowed above it.
    pub frames_per_sec: u32,
    pub frame_burst: u32,
    /// Error frames a connection may provoke in a burst (refilled at `errors_per_min`). When
    /// exhausted the connection is abusive and is closed with 1008.
    pub error_burst: u32,
    pub errors_per_min: u32,
    /// Conversations one connection may subscribe to.
    pub max_subscriptions: usize,
    /// `send`/`cancel` operations one connection may have in flight.
    pub max_inflight_ops: usize,
    /// Connections one replica accepts before answering 503.
    pub max_connections: usize,
    /// Sockets one user may hold open on one replica; one more is refused before the upgrade
    /// (429 `rate_limited`). Bounds what a single account can make a replica hold: a few
    /// devices and tabs are normal, thousands of sockets from one token are not.
    pub max_sockets_per_user: usize,
    /// Server ping interval and how long a silent peer is tolerated.
    pub heartbeat_interval: Duration,
    pub idle_timeout: Duration,
    /// Most events replayed on a resume; a larger gap answers `recovered: false` (reloading
    /// over REST is cheaper than replaying thousands of events).
    pub max_replay: usize,
    /// Live events buffered for one subscription while its replay is read.
    pub max_pending: usize,
    /// At most one `typing` event per connection and conversation in this interval.
    pub typing_interval: Duration,
    /// Presence: TTL of a replica's claim that a user is online, how often it is refreshed,
    /// how often members' presence is re-checked, and the largest conversation tracked
    /// (presence in huge rooms costs O(members²) frames; like Discord's large guilds we skip it).
    pub presence_ttl: Duration,
    pub presence_refresh: Duration,
    pub presence_poll: Duration,
    pub presence_max_members: usize,
    /// Node registry heartbeat and TTL.
    pub registry_interval: Duration,
    pub registry_ttl: Duration,
    /// How long a graceful stop waits for sockets to close after telling them to reconnect.
    pub drain_timeout: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 256,
            max_frame_bytes: 64 * 1024,
            hard_max_frame_bytes: 128 * 1024,
            frames_per_sec: 20,
            frame_burst: 40,
            error_burst: 20,
            errors_per_min: 30,
            max_subscriptions: 200,
            max_inflight_ops: 8,
            max_connections: 100_000,
            max_sockets_per_user: 16,
            heartbeat_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            max_replay: 2_000,
            max_pending: 1_024,
            typing_interval: Duration::from_secs(2),
            presence_ttl: Duration::from_secs(30),
            presence_refresh: Duration::from_secs(10),
            presence_poll: Duration::from_secs(3),
            presence_max_members: 100,
            registry_interval: Duration::from_secs(5),
            registry_ttl: Duration::from_secs(15),
            drain_timeout: Duration::from_secs(5),
        }
    }
}

impl GatewayConfig {
    /// Defaults overridden by `APP__GATEWAY__*` variables of the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(std::env::vars())
    }

    /// As [`GatewayConfig::from_env`], from explicit variables. Durations are in milliseconds
    /// (`…_MS`), counts are plain integers; an unparsable value is an error naming the variable.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut c = Self::default();
        for (key, value) in vars {
            let Some(field) = key.strip_prefix("APP__GATEWAY__") else {
                continue;
            };
            let field = field.to_ascii_lowercase();
            let int = || -> anyhow::Result<u64> {
                value
                    .trim()
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{key}: expected a non-negative integer"))
            };
            let ms = || int().map(Duration::from_millis);
            match field.as_str() {
                "queue_capacity" => c.queue_capacity = int()?.max(1) as usize,
                "max_frame_bytes" => c.max_frame_bytes = int()? as usize,
                "hard_max_frame_bytes" => c.hard_max_frame_bytes = int()? as usize,
                "frames_per_sec" => c.frames_per_sec = int()? as u32,
                "frame_burst" => c.frame_burst = int()? as u32,
                "error_burst" => c.error_burst = int()? as u32,
                "errors_per_min" => c.errors_per_min = int()? as u32,
                "max_subscriptions" => c.max_subscriptions = int()? as usize,
                "max_inflight_ops" => c.max_inflight_ops = int()? as usize,
                "max_connections" => c.max_connections = int()? as usize,
                "max_sockets_per_user" => c.max_sockets_per_user = int()?.max(1) as usize,
                "heartbeat_interval_ms" => c.heartbeat_interval = ms()?,
                "idle_timeout_ms" => c.idle_timeout = ms()?,
                "max_replay" => c.max_replay = int()? as usize,
                "max_pending" => c.max_pending = int()? as usize,
                "typing_interval_ms" => c.typing_interval = ms()?,
                "presence_ttl_ms" => c.presence_ttl = ms()?,
                "presence_refresh_ms" => c.presence_refresh = ms()?,
                "presence_poll_ms" => c.presence_poll = ms()?,
                "presence_max_members" => c.presence_max_members = int()? as usize,
                "registry_interval_ms" => c.registry_interval = ms()?,
                "registry_ttl_ms" => c.registry_ttl = ms()?,
                "drain_timeout_ms" => c.drain_timeout = ms()?,
                _ => anyhow::bail!("{key}: unknown gateway setting"),
            }
        }
        c.hard_max_frame_bytes = c.hard_max_frame_bytes.max(c.max_frame_bytes);
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_single_values_and_names_bad_ones() {
        let c = GatewayConfig::from_vars([
            ("APP__GATEWAY__QUEUE_CAPACITY".to_owned(), "512".to_owned()),
            (
                "APP__GATEWAY__HEARTBEAT_INTERVAL_MS".to_owned(),
                "1500".to_owned(),
            ),
            ("OTHER".to_owned(), "x".to_owned()),
        ])
        .unwrap();
        assert_eq!(c.queue_capacity, 512);
        assert_eq!(c.heartbeat_interval, Duration::from_millis(1500));
        let err =
            GatewayConfig::from_vars([("APP__GATEWAY__MAX_REPLAY".to_owned(), "many".to_owned())])
                .unwrap_err();
        assert!(err.to_string().contains("APP__GATEWAY__MAX_REPLAY"));
    }
}
