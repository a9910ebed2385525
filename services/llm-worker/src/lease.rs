//! Keeps a running job this worker's: touches its stream entry so another worker's reclaim does
//! not take a long generation away, and notices when one did anyway.

use std::time::Duration;

use bus::JobConsumer;
use tokio_util::sync::CancellationToken;

/// Touches `entry_id` every `every` until it is no longer this consumer's; then cancels `lost`
/// and never returns. Run it beside the job and drop it when the job ends.
///
/// A failed touch (Redis unreachable) is only logged: the entry stays ours until another worker
/// actually claims it, and a touch after that answers `false`.
pub async fn keep(
    consumer: JobConsumer,
    entry_id: String,
    every: Duration,
    lost: CancellationToken,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match consumer.touch(&entry_id).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(entry_id, "job taken over by another worker; abandoning it");
                lost.cancel();
                return std::future::pending().await;
            }
            Err(e) => tracing::warn!(entry_id, error = %e, "could not refresh the job lease"),
        }
    }
}
