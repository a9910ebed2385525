//! One integration-test binary for the storage layer (DESIGN §9). Every repository test runs
//! against a fresh migrated PostgreSQL database and a fresh SQLite file, through `both_backends!`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

mod blocks;
mod characters;
mod context_engine;
mod conversations;
mod friendships;
mod members;
mod messages;
mod outbox;
mod pool;
mod prompts;
mod refresh_tokens;
mod servers;
mod stats;
mod storage;
mod stories;
mod usage;
mod users;
