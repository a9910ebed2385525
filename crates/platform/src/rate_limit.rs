//! Redis-backed rate limits (they hold across replicas), answered 429 with `Retry-After`.

use std::time::Duration;

use bus::{Bus, RateDecision};

use crate::ApiError;

/// Counts one attempt against `key`; refuses with 429 when `limit` per `window` is used up.
pub async fn enforce(bus: &Bus, key: &str, limit: u32, window: Duration) -> Result<(), ApiError> {
    match bus.rate_limit(key, limit, window).await? {
        RateDecision::Allowed { .. } => Ok(()),
        RateDecision::Limited { retry_after } => Err(ApiError::rate_limited(
            retry_after.as_secs_f64().ceil() as u64,
        )),
    }
}
