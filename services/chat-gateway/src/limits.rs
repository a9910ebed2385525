//! Per-connection limits that need no Redis round trip: they guard this replica's own CPU, so
//! they are local. (Message sends are rate-limited across replicas by `chat::messages::send`.)

use std::collections::HashMap;
use std::time::{Duration, Instant};

use domain::ConversationId;

use crate::config::GatewayConfig;

/// A token bucket: `burst` tokens, refilled at `per_sec`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    tokens: f64,
    per_sec: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(per_sec: f64, burst: u32) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            capacity,
            tokens: capacity,
            per_sec,
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self) -> bool {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What a connection may still do.
#[derive(Debug)]
pub struct ConnectionLimits {
    frames: TokenBucket,
    errors: TokenBucket,
    typing: HashMap<ConversationId, Instant>,
    typing_interval: Duration,
}

/// The verdict on one more error frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorVerdict {
    /// Answer with the error frame and carry on.
    Tolerated,
    /// The client keeps misbehaving: close with 1008.
    Abusive,
}

impl ConnectionLimits {
    pub fn new(cfg: &GatewayConfig) -> Self {
        Self {
            frames: TokenBucket::new(f64::from(cfg.frames_per_sec), cfg.frame_burst),
            errors: TokenBucket::new(f64::from(cfg.errors_per_min) / 60.0, cfg.error_burst),
            typing: HashMap::new(),
            typing_interval: cfg.typing_interval,
        }
    }

    /// Counts one client frame; `false` when over the frame rate.
    pub fn allow_frame(&mut self) -> bool {
        self.frames.take()
    }

    /// Counts one error frame sent to the client.
    pub fn record_error(&mut self) -> ErrorVerdict {
        if self.errors.take() {
            ErrorVerdict::Tolerated
        } else {
            ErrorVerdict::Abusive
        }
    }

    /// Whether a `typing` event for `conversation` should be published now. Typing indicators
    /// are idempotent, so extra ones are dropped silently rather than answered with errors.
    pub fn allow_typing(&mut self, conversation: ConversationId) -> bool {
        let now = Instant::now();
        match self.typing.get(&conversation) {
            Some(last) if now.saturating_duration_since(*last) < self.typing_interval => false,
            _ => {
                if self.typing.len() > 64 {
                    let interval = self.typing_interval;
                    self.typing
                        .retain(|_, t| now.saturating_duration_since(*t) < interval);
                }
                self.typing.insert(conversation, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut b = TokenBucket::new(10.0, 3);
        b.last = start;
        assert!(b.take_at(start));
        assert!(b.take_at(start));
        assert!(b.take_at(start));
        assert!(!b.take_at(start));
        assert!(b.take_at(start + Duration::from_millis(100)));
        assert!(!b.take_at(start + Duration::from_millis(100)));
    }

    #[test]
    fn typing_is_throttled_per_conversation() {
        let cfg = GatewayConfig::default();
        let mut l = ConnectionLimits::new(&cfg);
        assert!(l.allow_typing(ConversationId(1)));
        assert!(!l.allow_typing(ConversationId(1)));
        assert!(l.allow_typing(ConversationId(2)));
    }
}
