//! Integration tests of admin-stats against a real PostgreSQL/SQLite and redis-server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access;
mod ops;
mod overview;
mod realtime;
mod records;
mod usage;
mod users;
