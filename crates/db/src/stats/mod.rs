//! Roll-ups for the admin statistics (issue #6): counters maintained as messages and AI replies
//! are stored, so reports over a period read small tables instead of scanning `messages`.
//!
//! Writers:
//! - [`record_user_message`] — chat's `send`, in the transaction that stores the message;
//! - [`record_generation`] — the llm-worker, in the transaction that stores a finished reply
//!   (complete, failed or cancelled).
//!
//! Both are idempotent on their event (`msg:<message id>`, `gen:<job id>` in `stats_ledger`): a
//! retried send or a redelivered job never counts twice. Both take a `&mut DbConn` and open a
//! transaction (a savepoint when the caller already holds one).
//!
//! Readers: [`overview`], [`list_users`], [`user_usage_by_day`], [`user_usage_by_model`],
//! [`usage_export_page`]. [`rebuild_from_messages`] recomputes the counters from stored messages
//! (after an upgrade, or to generate benchmark data in bulk).
//!
//! Days are UTC dates. The reporting queries are plain SQL that both backends accept; the one
//! difference (`?` vs `$n` placeholders, `ILIKE`, month truncation) is resolved in this module.

mod export;
mod latency;
mod limits;
mod overview;
mod rebuild;
mod record;
mod sql;
mod usage;
mod users;

pub use export::*;
pub use latency::*;
pub use limits::{MAX_RANGE_DAYS, SHARDS};
pub use overview::*;
pub use rebuild::*;
pub use record::*;
pub use usage::*;
pub use users::*;

/// The roll-up tables, now in `crate::schema` with every other table.
pub mod tables {
    pub use crate::schema::{
        character_daily, daily_stats, day_stats, latency_daily, stats_ledger, user_activity_daily,
        user_monthly,
    };
}
