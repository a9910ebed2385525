//! Integration tests of api-service against a real PostgreSQL/SQLite and redis-server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod auth;
mod characters;
mod context_engine;
mod conversations;
mod mentions;
mod messages;
mod notifications;
mod openapi;
mod ops;
mod outbox;
mod pins;
mod prompts;
mod reactions;
mod social;
mod storage;
mod stories;
mod sweep;
mod threads;
mod traces;
mod tree;
mod users;
