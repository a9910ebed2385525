//! Keeps a running job this worker's: a heartbeat renews the job's lease (a key with a short TTL)
//! and touches its stream entry, so another worker's reclaim takes the job only once the lease
//! ran out — within seconds of this worker dying or hanging, never while it is alive however slow
//! its provider is. It also notices when the job was taken anyway (a Redis blip longer than the
//! lease) and gives it up.

use std::time::Duration;

use bus::JobConsumer;
use tokio_util::sync::CancellationToken;

/// Renews the lease of `entry_id` for `lease` now and every `every` after, until it is no longer
/// this consumer's; then cancels `lost` and never returns. Run it beside the job and drop it when
/// the job ends.
///
/// A failed touch (Redis unreachable) is only logged: the entry stays ours until another worker
/// actually claims it, and a touch after that answers `false`.
pub async fn keep(
    consumer: JobConsumer,
    entry_id: String,
    every: Duration,
    lease: Duration,
    lost: CancellationToken,
) {
    // The first tick is at once: a job read but not yet leased is only protected by its idle
    // time, so keep that window short.
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match consumer.touch(&entry_id, lease).await {
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
