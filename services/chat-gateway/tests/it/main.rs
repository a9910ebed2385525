//! Integration tests of chat-gateway against a real PostgreSQL/SQLite and redis-server, with
//! two replicas in-process and real WebSocket clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod backpressure;
mod blocks;
mod commands;
mod delivery;
mod helpers;
mod malformed;
mod operations;
mod ops;
mod presence;
mod resume;
mod simple;
mod social;
mod tree;
mod upgrade;
