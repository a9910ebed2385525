//! The storage layer (DESIGN §3): one Diesel schema for PostgreSQL and SQLite, the pool, the one
//! async door [`run`], and one repository module per resource.
//!
//! Repositories are synchronous functions taking `&mut DbConn`; async callers wrap them in
//! [`run`], which executes them on the blocking pool:
//!
//! ```ignore
//! let user = db::run(&pool, move |c| db::users::find(c, id)).await?;
//! ```
//!
//! Conventions: lookups by primary key return [`DbError::NotFound`] when the row is missing,
//! lookups by another key (`find_by_*`, `find_between`, …) return `Option`. Timestamps are naive
//! UTC from [`now`]. Where a query must differ per backend (upserts, case-insensitive search) the
//! repository matches on the [`DbConn`] variant in that one function.

mod conn;
mod error;
mod health;
mod migrate;
mod pool;
pub mod schema;
pub mod types;

pub mod blocks;
pub mod characters;
pub mod chat_settings;
pub mod contexts;
pub mod conversations;
pub mod friendships;
pub mod lorebooks;
pub mod members;
pub mod mentions;
pub mod messages;
pub mod mutes;
pub mod notifications;
pub mod outbox;
pub mod personas;
pub mod pins;
pub mod prompts;
pub mod reactions;
pub mod refresh_tokens;
pub mod servers;
pub mod stats;
pub mod stories;
pub mod threads;
pub mod tree;
pub mod usage;
pub mod user_settings;
pub mod users;

pub use conn::{establish, transaction, Backend, DbConn};
pub use error::DbError;
pub use migrate::{migrate, run_migrations};
pub use pool::{connect, connect_with, ping, run, DbPool, PoolOptions, PoolStatus};
pub use types::now;

/// Page bounds: a negative or huge limit from a query string must not reach SQL unchecked.
pub(crate) fn clamp_page(limit: i64, offset: i64) -> (i64, i64) {
    (limit.clamp(0, 1000), offset.max(0))
}

/// An update or delete that matched no row means the id does not exist.
pub(crate) fn found(rows: usize) -> Result<(), DbError> {
    if rows == 0 {
        Err(DbError::NotFound)
    } else {
        Ok(())
    }
}

/// Runs the same Diesel query on whichever backend the connection is, for query builders that
/// only compile against a concrete backend (`ON CONFLICT`, `ILIKE`).
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::DbConn::Postgres($c) => $body,
            $crate::DbConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;
