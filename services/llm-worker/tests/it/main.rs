//! Integration tests of llm-worker against a real PostgreSQL/SQLite and redis-server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ops;
