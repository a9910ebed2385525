//! The test harness (DESIGN §9).
//!
//! Starts a real PostgreSQL 15 cluster and a real `redis-server` once per test binary on ephemeral
//! loopback ports, and hands each test its own fresh database and Redis key prefix. Every server
//! is watched by a small reaper process that stops it and deletes its files as soon as the test
//! binary exits, also when it crashes or is killed — so no run leaves servers behind.
//!
//! This crate is a dev-dependency only: a failure to start the harness is a broken test machine,
//! so it panics with a message that says what to install.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[cfg(feature = "otlp")]
pub mod otlp;
mod postgres;
mod process;
#[cfg(feature = "providers")]
pub mod providers;
mod redis;
#[cfg(feature = "services")]
pub mod services;

pub use postgres::{PgCluster, TestDatabase};
pub use redis::{RedisServer, TestRedis};

/// Installs the process-wide TLS crypto provider (ring) once. The workspace's reqwest is built
/// with `rustls-no-provider` (the llm crate picks ring), so in a test binary any reqwest client
/// would panic without it. Every harness entry point calls this; tests need not.
pub fn install_tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A unique lowercase name fragment for databases, prefixes and files.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}_{}", &id[..12])
}

/// A fresh, empty SQLite database file in its own temporary directory, removed on drop.
pub struct TestSqlite {
    dir: tempfile::TempDir,
}

impl TestSqlite {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("chatkit-sqlite-")
                .tempdir()
                .expect("create a temporary directory for SQLite"),
        }
    }

    /// `sqlite://` URL of the database file (created on first connect).
    pub fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("test.db").display())
    }
}

impl Default for TestSqlite {
    fn default() -> Self {
        Self::new()
    }
}
