//! chat-gateway: holds WebSocket connections and fans conversation events out (DESIGN §4–§5).
//!
//! - `routes`: the URL table and the pre-upgrade checks;
//! - `connection`: one socket's phases and client frames; `commands`: send/cancel/typing;
//! - `socket`: the per-socket queue, response body and frame decoder;
//! - `hub`: the router from the replica's one Redis subscription to socket queues;
//! - `subscriptions`: subscribe with lossless resume; `presence`; `limits`; `registry`;
//! - `protocol`: frames on the wire and close codes; `config`, `metrics`, `state`, `startup`.

pub mod commands;
pub mod config;
pub mod connection;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod presence;
pub mod protocol;
pub mod registry;
pub mod routes;
pub mod socket;
pub mod startup;
pub mod state;
pub mod subscriptions;
