//! Integration tests of llm-worker against a real PostgreSQL/SQLite and redis-server, with fake
//! AI providers on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod cancel;
mod context;
mod docs;
mod failures;
mod helpers;
mod ops;
mod prompt;
mod providers;
mod recovery;
mod reply;
mod story;
mod takeover;
mod tree;
