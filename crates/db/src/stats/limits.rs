//! The bounds the roll-ups are built with.

/// Hot per-day counters are spread over this many rows (see the migration).
pub const SHARDS: i64 = 8;

/// The longest period a report may cover.
pub const MAX_RANGE_DAYS: i64 = 366;
