//! The real-time tier right now: gateway replicas from the node registry, the job stream's
//! consumer groups, and stream lengths. Reading it also refreshes the `bus_*` gauges.

use actix_web::web;
use chrono::{DateTime, Utc};
use platform::{ApiError, AuthUser};
use serde::Serialize;
use utoipa::ToSchema;

use super::admin;
use crate::gauges::{self, node_number};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct RealtimeView {
    pub generated_at: DateTime<Utc>,
    pub gateways: GatewaysView,
    pub jobs: JobsView,
    pub streams: Vec<StreamView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GatewaysView {
    /// Replicas whose heartbeat has not expired.
    pub replicas: usize,
    pub connections: u64,
    pub subscriptions: u64,
    pub nodes: Vec<GatewayNodeView>,
}

/// One live gateway replica, as its last heartbeat described it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GatewayNodeView {
    pub node_id: String,
    /// Listed only while its heartbeat is fresh: a replica that stops beating drops out after
    /// its registry TTL.
    pub alive: bool,
    pub connections: Option<u64>,
    pub subscriptions: Option<u64>,
    pub users: Option<u64>,
    pub channels: Option<u64>,
    /// When the replica started / last reported, if it says so.
    pub started_at: Option<String>,
    pub heartbeat_at: Option<String>,
    /// Everything the replica registered.
    #[schema(value_type = Object)]
    pub info: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobsView {
    pub stream: String,
    pub length: u64,
    pub dead_letters: u64,
    pub groups: Vec<GroupView>,
}

/// A consumer group of the job stream (the llm-workers).
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub name: String,
    /// Worker processes in the group.
    pub consumers: u64,
    /// Jobs delivered to a worker and not yet acknowledged (in flight or stuck).
    pub pending: u64,
    /// Jobs not yet delivered to any worker (`null` when Redis cannot tell).
    pub lag: Option<u64>,
    pub last_delivered_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StreamView {
    pub name: String,
    pub length: u64,
}

fn node_view(node: &bus::NodeInfo) -> GatewayNodeView {
    let info: serde_json::Value =
        serde_json::from_str(&node.info).unwrap_or(serde_json::Value::Null);
    let text = |field: &str| info.get(field).and_then(|v| v.as_str()).map(str::to_owned);
    GatewayNodeView {
        node_id: node.node_id.clone(),
        alive: true,
        connections: node_number(&node.info, "connections"),
        subscriptions: node_number(&node.info, "subscriptions"),
        users: node_number(&node.info, "users"),
        channels: node_number(&node.info, "channels"),
        started_at: text("started_at"),
        heartbeat_at: text("heartbeat_at").or_else(|| text("updated_at")),
        info,
    }
}

#[utoipa::path(get, path = "/api/v1/admin/realtime", tag = "admin-stats", security(("bearer" = [])),
    responses((status = 200, body = RealtimeView), (status = 401), (status = 403), (status = 503)))]
pub async fn get_realtime(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<RealtimeView>, ApiError> {
    admin(&user)?;
    let snapshot = gauges::refresh(&state.bus).await?;
    let nodes: Vec<GatewayNodeView> = snapshot.nodes.iter().map(node_view).collect();
    let length = |name: &str| {
        snapshot
            .streams
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, len)| *len)
    };
    Ok(web::Json(RealtimeView {
        generated_at: Utc::now(),
        gateways: GatewaysView {
            replicas: nodes.len(),
            connections: nodes.iter().filter_map(|n| n.connections).sum(),
            subscriptions: nodes.iter().filter_map(|n| n.subscriptions).sum(),
            nodes,
        },
        jobs: JobsView {
            stream: "llm.jobs".to_owned(),
            length: length("llm.jobs"),
            dead_letters: length("llm.jobs.dead"),
            groups: snapshot
                .groups
                .iter()
                .map(|g| GroupView {
                    name: g.name.clone(),
                    consumers: g.consumers,
                    pending: g.pending,
                    lag: g.lag,
                    last_delivered_id: g.last_delivered_id.clone(),
                })
                .collect(),
        },
        streams: snapshot
            .streams
            .iter()
            .map(|(name, length)| StreamView {
                name: name.clone(),
                length: *length,
            })
            .collect(),
    }))
}
