//! Prometheus gauges of the real-time tier that no single service can see on its own, refreshed
//! every few seconds from Redis (and on every `GET /admin/realtime`):
//!
//! - `bus_stream_length{stream}` — entries in `llm.jobs` and `llm.jobs.dead`;
//! - `bus_consumer_group_consumers{group}`, `bus_consumer_pending{group}` (delivered, not yet
//!   acknowledged), `bus_consumer_lag{group}` (not yet delivered) of the job stream;
//! - `bus_gateway_nodes`, `bus_gateway_connections` — live gateway replicas and their sockets,
//!   from the node registry.
//!
//! The same task prunes the roll-up ledger once an hour.

use std::time::Duration;

use tokio::task::JoinHandle;

/// How often the gauges are refreshed.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);
/// Ledger entries older than this are forgotten (jobs are retried for hours, not weeks).
const LEDGER_RETENTION_DAYS: i64 = 14;
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The streams whose length is exported.
pub const STREAMS: [&str; 2] = ["llm.jobs", "llm.jobs.dead"];

/// The background task; aborted when dropped (with the server that owns it).
pub struct Background(JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn spawn(db: db::DbPool, bus: bus::Bus) -> Background {
    Background(tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_prune: Option<tokio::time::Instant> = None;
        loop {
            tick.tick().await;
            if let Err(e) = refresh(&bus).await {
                metrics::counter!("admin_stats_refresh_errors_total").increment(1);
                tracing::debug!(error = %e, "bus gauges not refreshed");
            }
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(tokio::time::Instant::now());
                let before = db::now() - chrono::Duration::days(LEDGER_RETENTION_DAYS);
                match db::run(&db, move |c| db::stats::prune_ledger(c, before)).await {
                    Ok(n) if n > 0 => tracing::info!(pruned = n, "roll-up ledger pruned"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "roll-up ledger not pruned"),
                }
            }
        }
    }))
}

/// What the gauges show, read once.
#[derive(Debug, Clone, Default)]
pub struct BusSnapshot {
    pub streams: Vec<(String, u64)>,
    pub groups: Vec<bus::GroupInfo>,
    pub nodes: Vec<bus::NodeInfo>,
}

impl BusSnapshot {
    pub async fn read(bus: &bus::Bus) -> Result<BusSnapshot, bus::BusError> {
        let mut streams = Vec::with_capacity(STREAMS.len());
        for stream in STREAMS {
            streams.push((stream.to_owned(), bus.stream_len(stream).await?));
        }
        Ok(BusSnapshot {
            streams,
            groups: bus.consumer_group_info().await?,
            nodes: bus.list_nodes().await?,
        })
    }

    /// Publishes the snapshot as gauges.
    pub fn export(&self) {
        for (stream, len) in &self.streams {
            metrics::gauge!("bus_stream_length", "stream" => stream.clone()).set(*len as f64);
        }
        for g in &self.groups {
            let group = g.name.clone();
            metrics::gauge!("bus_consumer_group_consumers", "group" => group.clone())
                .set(g.consumers as f64);
            metrics::gauge!("bus_consumer_pending", "group" => group.clone()).set(g.pending as f64);
            // Redis < 7 cannot tell the lag; leave the gauge as it was rather than report 0.
            if let Some(lag) = g.lag {
                metrics::gauge!("bus_consumer_lag", "group" => group).set(lag as f64);
            }
        }
        metrics::gauge!("bus_gateway_nodes").set(self.nodes.len() as f64);
        let connections: u64 = self
            .nodes
            .iter()
            .filter_map(|n| node_number(&n.info, "connections"))
            .sum();
        metrics::gauge!("bus_gateway_connections").set(connections as f64);
    }
}

/// A numeric field of a node's registry JSON.
pub fn node_number(info: &str, field: &str) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(info)
        .ok()?
        .get(field)?
        .as_u64()
}

pub async fn refresh(bus: &bus::Bus) -> Result<BusSnapshot, bus::BusError> {
    let snapshot = BusSnapshot::read(bus).await?;
    snapshot.export();
    Ok(snapshot)
}
