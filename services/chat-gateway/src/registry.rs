//! The node registry (DESIGN §4 "Other keys"): each replica says it is alive, with its load,
//! every `registry_interval`; the entry expires after `registry_ttl` if the replica dies, and
//! is removed at once on a graceful stop. Operators and load balancers read it with
//! `bus.list_nodes()`.

use std::sync::Arc;

use serde::Serialize;

use crate::hub::HubStats;
use crate::state::Gateway;

#[derive(Serialize)]
struct NodeReport<'a> {
    node_id: &'a str,
    port: u16,
    version: &'static str,
    started_at: chrono::DateTime<chrono::Utc>,
    #[serde(flatten)]
    stats: HubStats,
}

fn report(gw: &Gateway) -> String {
    let report = NodeReport {
        node_id: &gw.node_id,
        port: gw.port.get().copied().unwrap_or(0),
        version: env!("CARGO_PKG_VERSION"),
        started_at: gw.started_at,
        stats: gw.hub.stats(),
    };
    serde_json::to_string(&report).unwrap_or_else(|_| "{}".to_owned())
}

/// Registers now and then on every tick, until aborted.
pub async fn run_heartbeat(gw: Arc<Gateway>) {
    let mut tick = tokio::time::interval(gw.cfg.registry_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = gw
            .chat
            .bus
            .register_node(&gw.node_id, &report(&gw), gw.cfg.registry_ttl)
            .await
        {
            tracing::warn!(error = %e, "node registry heartbeat failed");
        }
    }
}

pub async fn unregister(gw: &Gateway) {
    if let Err(e) = gw.chat.bus.unregister_node(&gw.node_id).await {
        tracing::warn!(error = %e, "node unregister failed");
    }
}
