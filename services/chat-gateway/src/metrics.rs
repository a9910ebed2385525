//! The gateway's Prometheus metrics (served at `/metrics` by platform). Handles are resolved
//! once at start: a `counter!` lookup per delivery would cost more than the delivery.

use metrics::{Counter, Gauge};

#[derive(Clone)]
pub struct Metrics {
    /// Open sockets on this replica.
    pub connections: Gauge,
    /// Socket subscriptions (one per socket and conversation).
    pub subscriptions: Gauge,
    /// Conversations this replica is subscribed to in Redis (those with local subscribers).
    pub channels: Gauge,
    /// Event frames handed to socket queues.
    pub delivered: Counter,
    /// Frames dropped because a socket's queue was full (its socket is then closed).
    pub queue_drops: Counter,
    /// Sockets closed as slow consumers.
    pub slow_consumers: Counter,
    pub resumes_recovered: Counter,
    pub resumes_unrecovered: Counter,
    /// Error frames sent, and sockets closed as abusive.
    pub error_frames: Counter,
    pub abusive_closes: Counter,
    /// Conversation logs re-read after the Redis subscriber reconnected.
    pub reconnect_rereads: Counter,
}

impl Metrics {
    pub fn new() -> Self {
        platform::metrics::install();
        Self {
            connections: metrics::gauge!("gateway_connections"),
            subscriptions: metrics::gauge!("gateway_subscriptions"),
            channels: metrics::gauge!("gateway_channels"),
            delivered: metrics::counter!("gateway_events_delivered_total"),
            queue_drops: metrics::counter!("gateway_queue_drops_total"),
            slow_consumers: metrics::counter!("gateway_slow_consumer_closes_total"),
            resumes_recovered: metrics::counter!("gateway_resumes_total", "recovered" => "true"),
            resumes_unrecovered: metrics::counter!("gateway_resumes_total", "recovered" => "false"),
            error_frames: metrics::counter!("gateway_error_frames_total"),
            abusive_closes: metrics::counter!("gateway_abusive_closes_total"),
            reconnect_rereads: metrics::counter!("gateway_reconnect_rereads_total"),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
