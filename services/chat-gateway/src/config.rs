//! The gateway's own limits and timings, as the gateway uses them. Their values come from the
//! one layered configuration every service loads (`platform::Settings`, section `[gateway]`,
//! `APP__GATEWAY__<FIELD>`, durations `…_MS`); tests build this struct directly.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Frames waiting to be written to one socket. A socket whose queue is full is a slow
    /// consumer: it is closed with 1013 "slow consumer, resume" instead of delaying anyone.
    pub queue_capacity: usize,
    /// A socket whose oldest queued frame waited this long for the writer is a slow consumer
    /// too (closed the same way), however short its queue: a client that stopped reading is
    /// found in seconds even when events are rare.
    pub max_queue_age: Duration,
    /// `SO_SNDBUF` of every WebSocket (0 = the kernel's autotuned default). Kept small so a
    /// client that stops reading blocks its writer (and ages its queue) after a few KB instead
    /// of hiding megabytes in kernel buffers.
    pub send_buffer_bytes: usize,
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
            max_queue_age: Duration::from_secs(10),
            send_buffer_bytes: 32 * 1024,
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
    /// The gateway's section of the shared settings.
    pub fn from_settings(g: &platform::config::GatewaySettings) -> Self {
        let ms = Duration::from_millis;
        Self {
            queue_capacity: g.queue_capacity.max(1),
            max_queue_age: ms(g.max_queue_age_ms.max(1)),
            send_buffer_bytes: g.send_buffer_bytes,
            max_frame_bytes: g.max_frame_bytes,
            hard_max_frame_bytes: g.hard_max_frame_bytes.max(g.max_frame_bytes),
            frames_per_sec: g.frames_per_sec,
            frame_burst: g.frame_burst,
            error_burst: g.error_burst,
            errors_per_min: g.errors_per_min,
            max_subscriptions: g.max_subscriptions,
            max_inflight_ops: g.max_inflight_ops,
            max_connections: g.max_connections,
            max_sockets_per_user: g.max_sockets_per_user.max(1),
            heartbeat_interval: ms(g.heartbeat_interval_ms),
            idle_timeout: ms(g.idle_timeout_ms),
            max_replay: g.max_replay,
            max_pending: g.max_pending,
            typing_interval: ms(g.typing_interval_ms),
            presence_ttl: ms(g.presence_ttl_ms),
            presence_refresh: ms(g.presence_refresh_ms),
            presence_poll: ms(g.presence_poll_ms),
            presence_max_members: g.presence_max_members,
            registry_interval: ms(g.registry_interval_ms),
            registry_ttl: ms(g.registry_ttl_ms),
            drain_timeout: ms(g.drain_timeout_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_defaults_are_the_gateways_defaults() {
        let shared = platform::Settings::defaults().unwrap();
        let from_settings = GatewayConfig::from_settings(&shared.gateway);
        let built_in = GatewayConfig::default();
        assert_eq!(format!("{from_settings:?}"), format!("{built_in:?}"));
    }

    #[test]
    fn environment_overrides_single_values_and_refuses_unknown_ones() {
        let vars = |pairs: &[(&str, &str)]| {
            let dir = std::env::temp_dir().display().to_string();
            let mut v: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            v.push(("APP__DATA_DIR".into(), dir));
            v.push(("JWT_SECRET".into(), "x".repeat(40)));
            v
        };
        let s = platform::Settings::load_from(vars(&[
            ("APP__GATEWAY__QUEUE_CAPACITY", "512"),
            ("APP__GATEWAY__HEARTBEAT_INTERVAL_MS", "1500"),
        ]))
        .unwrap();
        let c = GatewayConfig::from_settings(&s.gateway);
        assert_eq!(c.queue_capacity, 512);
        assert_eq!(c.heartbeat_interval, Duration::from_millis(1500));
        let err = platform::Settings::load_from(vars(&[("APP__GATEWAY__MAX_REPLAY", "many")]))
            .unwrap_err();
        assert!(err.to_string().contains("max_replay"), "{err}");
        let err =
            platform::Settings::load_from(vars(&[("APP__GATEWAY__MAX_REPLAYS", "5")])).unwrap_err();
        assert!(err.to_string().contains("max_replays"), "{err}");
    }
}
