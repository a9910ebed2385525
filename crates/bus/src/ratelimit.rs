//! Rate limits kept in Redis, so they hold across replicas (DESIGN §8).
//!
//! GCRA (generic cell rate algorithm): one key per bucket holding a "theoretical arrival time",
//! updated atomically in Lua with the server's clock. O(1) memory per bucket, no clock skew
//! between replicas, and a precise retry-after. `limit` requests per `window`, bursts up to
//! `limit`; capacity comes back steadily (one request every `window / limit`).

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use crate::error::BusError;
use crate::Bus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed { remaining: u32 },
    Limited { retry_after: Duration },
}

impl RateDecision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, RateDecision::Allowed { .. })
    }
}

/// KEYS: bucket. ARGV: emission interval µs, window µs. Returns {1, remaining} or {0, wait µs}.
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if allow_at > now then
  return {0, string.format('%d', allow_at - now)}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, string.format('%d', math.floor((window - (new_tat - now)) / interval))}
"#,
    )
});

impl Bus {
    /// Counts one request against bucket `key` allowing `limit` per `window`.
    // The key is not a span field: it names a client address or a user.
    #[tracing::instrument(name = "bus.rate_limit", skip_all, fields(otel.kind = "client"))]
    pub async fn rate_limit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<RateDecision, BusError> {
        let window_us = window.as_micros().clamp(1, 1 << 50) as u64;
        if limit == 0 {
            return Ok(RateDecision::Limited {
                retry_after: window,
            });
        }
        let interval_us = (window_us / limit as u64).max(1);
        let mut inv = GCRA.prepare_invoke();
        inv.key(self.keys().rate(key))
            .arg(interval_us)
            .arg(interval_us * limit as u64);
        let mut conn = self.conn().await?;
        let (allowed, n): (i64, String) = inv.invoke_async(&mut conn).await?;
        let n: u64 = n
            .parse()
            .map_err(|e| crate::error::decode_err("rate limit reply", e))?;
        Ok(if allowed == 1 {
            RateDecision::Allowed {
                remaining: n.min(u32::MAX as u64) as u32,
            }
        } else {
            RateDecision::Limited {
                retry_after: Duration::from_micros(n),
            }
        })
    }
}
