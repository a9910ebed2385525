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

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Bool, Date, Integer, Nullable, Text, Timestamp};
use diesel::upsert::excluded;
use domain::{CharacterId, MessageId, Role, UserId};

use crate::schema::users;
use crate::types::{contains_pattern, now};
use crate::{clamp_page, on_backend, transaction, Backend, DbConn, DbError};

/// The roll-up tables (kept here rather than in `schema.rs`: only this module touches them).
pub mod tables {
    diesel::table! {
        stats_ledger (event_key) {
            event_key -> Text,
            recorded_at -> Timestamp,
        }
    }

    diesel::table! {
        daily_stats (day, model, provider, shard) {
            day -> Date,
            model -> Text,
            provider -> Text,
            shard -> Integer,
            generations_ok -> BigInt,
            generations_failed -> BigInt,
            generations_cancelled -> BigInt,
            prompt_tokens -> BigInt,
            completion_tokens -> BigInt,
        }
    }

    diesel::table! {
        latency_daily (day, model, provider, bucket) {
            day -> Date,
            model -> Text,
            provider -> Text,
            bucket -> Integer,
            samples -> BigInt,
            sum_ms -> BigInt,
        }
    }

    diesel::table! {
        day_stats (day, shard) {
            day -> Date,
            shard -> Integer,
            user_messages -> BigInt,
            active_users -> BigInt,
        }
    }

    diesel::table! {
        character_daily (day, character_id) {
            day -> Date,
            character_id -> BigInt,
            messages -> BigInt,
        }
    }

    diesel::table! {
        user_activity_daily (day, user_id) {
            day -> Date,
            user_id -> BigInt,
            messages -> BigInt,
            replies -> BigInt,
        }
    }

    diesel::table! {
        user_monthly (month_start, user_id) {
            month_start -> Date,
            user_id -> BigInt,
            messages -> BigInt,
            replies -> BigInt,
            prompt_tokens -> BigInt,
            completion_tokens -> BigInt,
            active_days -> BigInt,
        }
    }
}

use tables::{
    character_daily, daily_stats, day_stats, latency_daily, stats_ledger, user_activity_daily,
    user_monthly,
};

/// Hot per-day counters are spread over this many rows (see the migration).
pub const SHARDS: i64 = 8;

/// The longest period a report may cover.
pub const MAX_RANGE_DAYS: i64 = 366;

// ---------------------------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------------------------

/// How a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerationOutcome {
    /// The reply was stored complete.
    Ok,
    /// The provider failed for good; the reply was stored as failed.
    Failed,
    /// The user stopped it; the partial reply was stored as cancelled.
    Cancelled,
}

/// One finished generation, as the worker reports it after storing the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRecord {
    /// The job id: the idempotency key.
    pub job_id: String,
    /// The user the reply answers (the job's `user_id`).
    pub user_id: UserId,
    /// The character that spoke, if any.
    pub character_id: Option<CharacterId>,
    /// `provider/model` as stored on the reply (`"unknown"` when none was chosen).
    pub model: String,
    /// The provider part of `model` ([`provider_of`]).
    pub provider: String,
    /// UTC day the reply was stored.
    pub day: NaiveDate,
    pub outcome: GenerationOutcome,
    /// Milliseconds from the job being enqueued to the final reply being stored; `None` when
    /// unknown (not counted in the latency percentiles).
    pub latency_ms: Option<i64>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

impl GenerationRecord {
    /// A record for `model` (`provider/model`), with the provider derived from it, no character,
    /// no latency and no tokens.
    pub fn new(
        job_id: impl Into<String>,
        user_id: UserId,
        model: &str,
        day: NaiveDate,
        outcome: GenerationOutcome,
    ) -> Self {
        let model = if model.trim().is_empty() {
            "unknown"
        } else {
            model
        };
        Self {
            job_id: job_id.into(),
            user_id,
            character_id: None,
            model: model.to_owned(),
            provider: provider_of(model).to_owned(),
            day,
            outcome,
            latency_ms: None,
            prompt_tokens: 0,
            completion_tokens: 0,
        }
    }
}

/// The provider part of a `provider/model` name (the whole name when it has no `/`).
pub fn provider_of(model: &str) -> &str {
    model
        .split_once('/')
        .map_or(model, |(provider, _)| provider)
}

/// The first day of `day`'s month.
pub fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn shard_of_text(key: &str) -> i32 {
    // FNV-1a: stable across processes and releases, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % SHARDS as u64) as i32
}

fn shard_of_id(id: i64) -> i32 {
    id.rem_euclid(SHARDS) as i32
}

/// Puts `key` in the ledger; false if it was there already (the event was recorded before).
fn claim(conn: &mut DbConn, key: &str) -> Result<bool, DbError> {
    let row = (
        stats_ledger::event_key.eq(key),
        stats_ledger::recorded_at.eq(now()),
    );
    let n = on_backend!(conn, |c| diesel::insert_into(stats_ledger::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// Adds to the user's row of the day; returns whether it is the user's first activity that day.
fn add_activity(
    conn: &mut DbConn,
    day: NaiveDate,
    user: UserId,
    messages: i64,
    replies: i64,
) -> Result<bool, DbError> {
    let row = (
        user_activity_daily::day.eq(day),
        user_activity_daily::user_id.eq(user.0),
        user_activity_daily::messages.eq(messages),
        user_activity_daily::replies.eq(replies),
    );
    let inserted = on_backend!(conn, |c| diesel::insert_into(user_activity_daily::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    if inserted == 1 {
        return Ok(true);
    }
    if messages != 0 || replies != 0 {
        diesel::update(
            user_activity_daily::table
                .filter(user_activity_daily::day.eq(day))
                .filter(user_activity_daily::user_id.eq(user.0)),
        )
        .set((
            user_activity_daily::messages.eq(user_activity_daily::messages + messages),
            user_activity_daily::replies.eq(user_activity_daily::replies + replies),
        ))
        .execute(conn)?;
    }
    Ok(false)
}

fn add_day(
    conn: &mut DbConn,
    day: NaiveDate,
    shard: i32,
    user_messages: i64,
    active_users: i64,
) -> Result<(), DbError> {
    if user_messages == 0 && active_users == 0 {
        return Ok(());
    }
    let row = (
        day_stats::day.eq(day),
        day_stats::shard.eq(shard),
        day_stats::user_messages.eq(user_messages),
        day_stats::active_users.eq(active_users),
    );
    on_backend!(conn, |c| diesel::insert_into(day_stats::table)
        .values(row)
        .on_conflict((day_stats::day, day_stats::shard))
        .do_update()
        .set((
            day_stats::user_messages
                .eq(day_stats::user_messages + excluded(day_stats::user_messages)),
            day_stats::active_users.eq(day_stats::active_users + excluded(day_stats::active_users)),
        ))
        .execute(c))?;
    Ok(())
}

struct MonthlyDelta {
    messages: i64,
    replies: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
}

fn add_monthly(
    conn: &mut DbConn,
    day: NaiveDate,
    user: UserId,
    d: MonthlyDelta,
) -> Result<(), DbError> {
    let row = (
        user_monthly::month_start.eq(month_start(day)),
        user_monthly::user_id.eq(user.0),
        user_monthly::messages.eq(d.messages),
        user_monthly::replies.eq(d.replies),
        user_monthly::prompt_tokens.eq(d.prompt_tokens),
        user_monthly::completion_tokens.eq(d.completion_tokens),
        user_monthly::active_days.eq(day_bit(day)),
    );
    on_backend!(conn, |c| diesel::insert_into(user_monthly::table)
        .values(row)
        .on_conflict((user_monthly::month_start, user_monthly::user_id))
        .do_update()
        .set((
            user_monthly::messages.eq(user_monthly::messages + excluded(user_monthly::messages)),
            user_monthly::replies.eq(user_monthly::replies + excluded(user_monthly::replies)),
            user_monthly::prompt_tokens
                .eq(user_monthly::prompt_tokens + excluded(user_monthly::prompt_tokens)),
            user_monthly::completion_tokens
                .eq(user_monthly::completion_tokens + excluded(user_monthly::completion_tokens)),
            user_monthly::active_days.eq(diesel::dsl::sql::<BigInt>(
                "user_monthly.active_days | excluded.active_days",
            )),
        ))
        .execute(c))?;
    Ok(())
}

/// The bit of `day` in `user_monthly.active_days`.
fn day_bit(day: NaiveDate) -> i64 {
    1_i64 << day.day0()
}

/// The bits of the days of `month` (its first day) that lie within `from`–`to`.
fn month_mask(month: NaiveDate, from: NaiveDate, to: NaiveDate) -> i64 {
    let mut mask = 0;
    let mut day = month.max(from);
    while day <= to && month_start(day) == month {
        mask |= day_bit(day);
        day += Duration::days(1);
    }
    mask
}

fn add_character(conn: &mut DbConn, day: NaiveDate, character: CharacterId) -> Result<(), DbError> {
    let row = (
        character_daily::day.eq(day),
        character_daily::character_id.eq(character.0),
        character_daily::messages.eq(1_i64),
    );
    on_backend!(conn, |c| diesel::insert_into(character_daily::table)
        .values(row)
        .on_conflict((character_daily::day, character_daily::character_id))
        .do_update()
        .set(
            character_daily::messages
                .eq(character_daily::messages + excluded(character_daily::messages)),
        )
        .execute(c))?;
    Ok(())
}

/// Counts a message a user sent: the day's messages, the user's activity (DAU/MAU), the user's
/// month, the character's day. Returns false (and changes nothing) if this message was recorded
/// before. Call it in the transaction that stored the message.
///
/// Locks are taken in one global order (ledger → daily_stats → latency_daily →
/// user_activity_daily → day_stats → user_monthly → character_daily → users) by both recorders,
/// so concurrent writers cannot deadlock on the roll-ups.
pub fn record_user_message(
    conn: &mut DbConn,
    user_id: UserId,
    character_id: Option<CharacterId>,
    day: NaiveDate,
    message_id: MessageId,
) -> Result<bool, DbError> {
    transaction(conn, |conn| {
        if !claim(conn, &format!("msg:{}", message_id.0))? {
            return Ok(false);
        }
        let shard = shard_of_id(message_id.0);
        let first_today = add_activity(conn, day, user_id, 1, 0)?;
        add_day(conn, day, shard, 1, i64::from(first_today))?;
        add_monthly(
            conn,
            day,
            user_id,
            MonthlyDelta {
                messages: 1,
                replies: 0,
                prompt_tokens: 0,
                completion_tokens: 0,
            },
        )?;
        if let Some(character) = character_id {
            add_character(conn, day, character)?;
        }
        // Last activity only moves forward.
        let at = now();
        diesel::update(
            users::table.find(user_id.0).filter(
                users::last_active_at
                    .is_null()
                    .or(users::last_active_at.lt(at)),
            ),
        )
        .set(users::last_active_at.eq(at))
        .execute(conn)?;
        Ok(true)
    })
}

/// Counts a finished generation: per day/model/provider outcome and tokens, the latency
/// histogram, the user's activity and month, the character's day (completed replies only).
/// Returns false (and changes nothing) if this job was recorded before. Call it in the
/// transaction that stores the final reply, next to `usage::charge`.
pub fn record_generation(conn: &mut DbConn, rec: &GenerationRecord) -> Result<bool, DbError> {
    transaction(conn, |conn| {
        if !claim(conn, &format!("gen:{}", rec.job_id))? {
            return Ok(false);
        }
        let shard = shard_of_text(&rec.job_id);
        let ok = rec.outcome == GenerationOutcome::Ok;
        let count = |o: GenerationOutcome| i64::from(rec.outcome == o);
        let prompt = rec.prompt_tokens.max(0);
        let completion = rec.completion_tokens.max(0);
        let row = (
            daily_stats::day.eq(rec.day),
            daily_stats::model.eq(&rec.model),
            daily_stats::provider.eq(&rec.provider),
            daily_stats::shard.eq(shard),
            daily_stats::generations_ok.eq(count(GenerationOutcome::Ok)),
            daily_stats::generations_failed.eq(count(GenerationOutcome::Failed)),
            daily_stats::generations_cancelled.eq(count(GenerationOutcome::Cancelled)),
            daily_stats::prompt_tokens.eq(prompt),
            daily_stats::completion_tokens.eq(completion),
        );
        on_backend!(conn, |c| diesel::insert_into(daily_stats::table)
            .values(row)
            .on_conflict((
                daily_stats::day,
                daily_stats::model,
                daily_stats::provider,
                daily_stats::shard,
            ))
            .do_update()
            .set(
                (
                    daily_stats::generations_ok
                        .eq(daily_stats::generations_ok + excluded(daily_stats::generations_ok)),
                    daily_stats::generations_failed
                        .eq(daily_stats::generations_failed
                            + excluded(daily_stats::generations_failed)),
                    daily_stats::generations_cancelled.eq(daily_stats::generations_cancelled
                        + excluded(daily_stats::generations_cancelled)),
                    daily_stats::prompt_tokens
                        .eq(daily_stats::prompt_tokens + excluded(daily_stats::prompt_tokens)),
                    daily_stats::completion_tokens
                        .eq(daily_stats::completion_tokens
                            + excluded(daily_stats::completion_tokens)),
                )
            )
            .execute(c))?;

        if let Some(ms) = rec.latency_ms {
            let ms = ms.max(0);
            let row = (
                latency_daily::day.eq(rec.day),
                latency_daily::model.eq(&rec.model),
                latency_daily::provider.eq(&rec.provider),
                latency_daily::bucket.eq(latency_bucket(ms)),
                latency_daily::samples.eq(1_i64),
                latency_daily::sum_ms.eq(ms),
            );
            on_backend!(conn, |c| diesel::insert_into(latency_daily::table)
                .values(row)
                .on_conflict((
                    latency_daily::day,
                    latency_daily::model,
                    latency_daily::provider,
                    latency_daily::bucket,
                ))
                .do_update()
                .set((
                    latency_daily::samples
                        .eq(latency_daily::samples + excluded(latency_daily::samples)),
                    latency_daily::sum_ms
                        .eq(latency_daily::sum_ms + excluded(latency_daily::sum_ms)),
                ))
                .execute(c))?;
        }

        let replies = i64::from(ok);
        let first_today = add_activity(conn, rec.day, rec.user_id, 0, replies)?;
        add_day(conn, rec.day, shard, 0, i64::from(first_today))?;
        add_monthly(
            conn,
            rec.day,
            rec.user_id,
            MonthlyDelta {
                messages: 0,
                replies,
                prompt_tokens: prompt,
                completion_tokens: completion,
            },
        )?;
        if let (true, Some(character)) = (ok, rec.character_id) {
            add_character(conn, rec.day, character)?;
        }
        Ok(true)
    })
}

/// Housekeeping: forgets ledger entries recorded before `before` (long after any retry could
/// come). Returns how many were removed.
pub fn prune_ledger(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize, DbError> {
    Ok(
        diesel::delete(stats_ledger::table.filter(stats_ledger::recorded_at.lt(before)))
            .execute(conn)?,
    )
}

// ---------------------------------------------------------------------------------------------
// Latency histogram
// ---------------------------------------------------------------------------------------------

/// The histogram bucket of a latency: exact below 16 ms, then 8 buckets per power of two
/// (each at most 12.5% wide).
pub fn latency_bucket(ms: i64) -> i32 {
    let v = ms.max(0) as u64;
    if v < 16 {
        return v as i32;
    }
    let e = 63 - v.leading_zeros(); // floor(log2 v), ≥ 4
    let sub = (v >> (e - 3)) & 7;
    (16 + (e - 4) * 8 + sub as u32) as i32
}

/// The half-open range `[low, high)` of latencies in milliseconds a bucket holds.
pub fn bucket_bounds(bucket: i32) -> (f64, f64) {
    let b = i64::from(bucket.max(0));
    if b < 16 {
        return (b as f64, (b + 1) as f64);
    }
    let e = (b - 16) / 8 + 4;
    let sub = (b - 16) % 8;
    let width = 2_f64.powi((e - 3) as i32);
    let low = (8 + sub) as f64 * width;
    (low, low + width)
}

/// The `q`-quantile (0–1) of a histogram given as (bucket, samples), interpolated linearly
/// within its bucket; `None` for an empty histogram.
pub fn latency_quantile(histogram: &[(i32, i64)], q: f64) -> Option<f64> {
    let mut buckets: Vec<(i32, i64)> = histogram.iter().copied().filter(|(_, n)| *n > 0).collect();
    buckets.sort_unstable();
    let total: i64 = buckets.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total as f64;
    let mut seen = 0_i64;
    for (bucket, n) in &buckets {
        if (seen + n) as f64 >= rank {
            let (low, high) = bucket_bounds(*bucket);
            let within = ((rank - seen as f64) / *n as f64).clamp(0.0, 1.0);
            return Some(low + (high - low) * within);
        }
        seen += n;
    }
    buckets.last().map(|(b, _)| bucket_bounds(*b).1)
}

// ---------------------------------------------------------------------------------------------
// Raw SQL shared by both backends
// ---------------------------------------------------------------------------------------------

/// A bind value of a hand-written query.
#[derive(Debug, Clone)]
enum Arg {
    Int(i64),
    Text(String),
    Date(NaiveDate),
    Ts(NaiveDateTime),
    Bool(bool),
}

/// `?` placeholders as PostgreSQL's `$1, $2, …` (the queries here contain no other `?`).
fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

fn bind_args<DB>(
    mut query: BoxedSqlQuery<'static, DB, diesel::query_builder::SqlQuery>,
    args: Vec<Arg>,
) -> BoxedSqlQuery<'static, DB, diesel::query_builder::SqlQuery>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<Date>
        + diesel::sql_types::HasSqlType<Timestamp>
        + diesel::sql_types::HasSqlType<Bool>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    String: diesel::serialize::ToSql<Text, DB>,
    NaiveDate: diesel::serialize::ToSql<Date, DB>,
    NaiveDateTime: diesel::serialize::ToSql<Timestamp, DB>,
    bool: diesel::serialize::ToSql<Bool, DB>,
{
    for arg in args {
        query = match arg {
            Arg::Int(v) => query.bind::<BigInt, _>(v),
            Arg::Text(v) => query.bind::<Text, _>(v),
            Arg::Date(v) => query.bind::<Date, _>(v),
            Arg::Ts(v) => query.bind::<Timestamp, _>(v),
            Arg::Bool(v) => query.bind::<Bool, _>(v),
        };
    }
    query
}

fn load<T>(conn: &mut DbConn, sql: &str, args: Vec<Arg>) -> Result<Vec<T>, DbError>
where
    T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    Ok(match conn {
        DbConn::Postgres(c) => bind_args(
            diesel::sql_query(numbered_placeholders(sql)).into_boxed::<diesel::pg::Pg>(),
            args,
        )
        .load(c)?,
        DbConn::Sqlite(c) => bind_args(
            diesel::sql_query(sql.to_owned()).into_boxed::<diesel::sqlite::Sqlite>(),
            args,
        )
        .load(c)?,
    })
}

fn execute(conn: &mut DbConn, sql: &str, args: Vec<Arg>) -> Result<usize, DbError> {
    Ok(match conn {
        DbConn::Postgres(c) => bind_args(
            diesel::sql_query(numbered_placeholders(sql)).into_boxed::<diesel::pg::Pg>(),
            args,
        )
        .execute(c)?,
        DbConn::Sqlite(c) => bind_args(
            diesel::sql_query(sql.to_owned()).into_boxed::<diesel::sqlite::Sqlite>(),
            args,
        )
        .execute(c)?,
    })
}

/// `SUM(expr)` as a BIGINT on both backends (PostgreSQL sums BIGINT into NUMERIC), 0 when empty.
fn sum(expr: &str) -> String {
    format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)")
}

fn day_start(day: NaiveDate) -> NaiveDateTime {
    day.and_time(chrono::NaiveTime::MIN)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut DbConn, sql: &str, args: Vec<Arg>) -> Result<i64, DbError> {
    Ok(load::<Count>(conn, sql, args)?
        .first()
        .map(|c| c.n)
        .unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------------

/// One day of the overview; days without activity are present with zeros.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayStats {
    pub day: NaiveDate,
    pub new_users: i64,
    pub active_users: i64,
    pub user_messages: i64,
    pub generations_ok: i64,
    pub generations_failed: i64,
    pub generations_cancelled: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// Generations of one model over the period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelStats {
    pub model: String,
    pub provider: String,
    pub generations_ok: i64,
    pub generations_failed: i64,
    pub generations_cancelled: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub latency: LatencySummary,
}

/// Latency of the generations with a known latency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencySummary {
    pub samples: i64,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl LatencySummary {
    fn from_histogram(histogram: &[(i32, i64)], sum_ms: i64) -> Self {
        let samples: i64 = histogram.iter().map(|(_, n)| n).sum();
        Self {
            samples,
            mean_ms: (samples > 0).then(|| sum_ms as f64 / samples as f64),
            p50_ms: latency_quantile(histogram, 0.5),
            p99_ms: latency_quantile(histogram, 0.99),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharacterStats {
    pub character_id: CharacterId,
    /// `None` when the character was deleted since.
    pub name: Option<String>,
    pub messages: i64,
}

/// Everything the admin overview shows for a period, from the roll-ups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overview {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Accounts that existed at the end of the period.
    pub users_total: i64,
    /// Accounts created within the period.
    pub users_new: i64,
    /// Distinct users active within the period.
    pub users_active: i64,
    /// Distinct users active in the 30 days ending with the period's last day.
    pub users_monthly_active: i64,
    pub days: Vec<DayStats>,
    pub models: Vec<ModelStats>,
    pub latency: LatencySummary,
    pub top_characters: Vec<CharacterStats>,
}

#[derive(QueryableByName)]
struct DayActivityRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    user_messages: i64,
    #[diesel(sql_type = BigInt)]
    active_users: i64,
}

#[derive(QueryableByName)]
struct DayGenerationRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    ok: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
    #[diesel(sql_type = BigInt)]
    cancelled: i64,
    #[diesel(sql_type = BigInt)]
    prompt_tokens: i64,
    #[diesel(sql_type = BigInt)]
    completion_tokens: i64,
}

#[derive(QueryableByName)]
struct DayCountRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct ModelRow {
    #[diesel(sql_type = Text)]
    model: String,
    #[diesel(sql_type = Text)]
    provider: String,
    #[diesel(sql_type = BigInt)]
    ok: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
    #[diesel(sql_type = BigInt)]
    cancelled: i64,
    #[diesel(sql_type = BigInt)]
    prompt_tokens: i64,
    #[diesel(sql_type = BigInt)]
    completion_tokens: i64,
}

#[derive(QueryableByName)]
struct LatencyRow {
    #[diesel(sql_type = Text)]
    model: String,
    #[diesel(sql_type = Text)]
    provider: String,
    #[diesel(sql_type = Integer)]
    bucket: i32,
    #[diesel(sql_type = BigInt)]
    samples: i64,
    #[diesel(sql_type = BigInt)]
    sum_ms: i64,
}

#[derive(QueryableByName)]
struct CharacterRow {
    #[diesel(sql_type = BigInt)]
    character_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = BigInt)]
    messages: i64,
}

#[derive(QueryableByName)]
struct ActiveRow {
    #[diesel(sql_type = BigInt)]
    in_range: i64,
    #[diesel(sql_type = BigInt)]
    in_window: i64,
}

/// `(month_start = ? AND (active_days & ?) <> 0) OR …` for the months of `from`–`to`.
fn active_condition(from: NaiveDate, to: NaiveDate, args: &mut Vec<Arg>) -> String {
    let mut parts = Vec::new();
    let mut month = month_start(from);
    while month <= to {
        parts.push("(month_start = ? AND (active_days & ?) <> 0)");
        args.push(Arg::Date(month));
        args.push(Arg::Int(month_mask(month, from, to)));
        month = month
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
    }
    if parts.is_empty() {
        return "1 = 0".to_owned();
    }
    parts.join(" OR ")
}

/// Distinct users active from `from` to `to`, and from `window_from` to `to` (all inclusive), in
/// one pass over one row per user and month (`user_monthly.active_days`).
pub fn active_users(
    conn: &mut DbConn,
    from: NaiveDate,
    window_from: NaiveDate,
    to: NaiveDate,
) -> Result<(i64, i64), DbError> {
    let mut args = Vec::new();
    let in_range = active_condition(from, to, &mut args);
    let in_window = active_condition(window_from, to, &mut args);
    args.push(Arg::Date(month_start(from.min(window_from))));
    args.push(Arg::Date(to));
    let rows: Vec<ActiveRow> = load(
        conn,
        &format!(
            "SELECT {} AS in_range, {} AS in_window FROM ( \
               SELECT user_id, MAX(CASE WHEN {in_range} THEN 1 ELSE 0 END) AS r, \
                      MAX(CASE WHEN {in_window} THEN 1 ELSE 0 END) AS w \
               FROM user_monthly WHERE month_start BETWEEN ? AND ? AND active_days <> 0 \
               GROUP BY user_id) a",
            sum("r"),
            sum("w")
        ),
        args,
    )?;
    Ok(rows.first().map_or((0, 0), |r| (r.in_range, r.in_window)))
}

/// The overview of `from`–`to` (inclusive) with the `top` most talked-to characters.
pub fn overview(
    conn: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
    top: i64,
) -> Result<Overview, DbError> {
    let range = || vec![Arg::Date(from), Arg::Date(to)];
    let after_to = day_start(to + Duration::days(1));

    let users_total = count(
        conn,
        "SELECT COUNT(*) AS n FROM users WHERE created_at < ?",
        vec![Arg::Ts(after_to)],
    )?;
    let new_per_day: Vec<DayCountRow> = load(
        conn,
        "SELECT date(created_at) AS day, COUNT(*) AS n FROM users \
         WHERE created_at >= ? AND created_at < ? GROUP BY date(created_at)",
        vec![Arg::Ts(day_start(from)), Arg::Ts(after_to)],
    )?;
    let (users_active, users_monthly_active) =
        active_users(conn, from, to - Duration::days(29), to)?;

    let activity: Vec<DayActivityRow> = load(
        conn,
        &format!(
            "SELECT day, {} AS user_messages, {} AS active_users FROM day_stats \
             WHERE day BETWEEN ? AND ? GROUP BY day",
            sum("user_messages"),
            sum("active_users")
        ),
        range(),
    )?;
    let generations: Vec<DayGenerationRow> = load(
        conn,
        &format!(
            "SELECT day, {} AS ok, {} AS failed, {} AS cancelled, {} AS prompt_tokens, \
             {} AS completion_tokens FROM daily_stats WHERE day BETWEEN ? AND ? GROUP BY day",
            sum("generations_ok"),
            sum("generations_failed"),
            sum("generations_cancelled"),
            sum("prompt_tokens"),
            sum("completion_tokens")
        ),
        range(),
    )?;

    let mut days: BTreeMap<NaiveDate, DayStats> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        days.insert(
            day,
            DayStats {
                day,
                ..DayStats::default()
            },
        );
        day += Duration::days(1);
    }
    for r in new_per_day {
        if let Some(d) = days.get_mut(&r.day) {
            d.new_users += r.n;
        }
    }
    for r in activity {
        if let Some(d) = days.get_mut(&r.day) {
            d.user_messages = r.user_messages;
            d.active_users = r.active_users;
        }
    }
    for r in generations {
        if let Some(d) = days.get_mut(&r.day) {
            d.generations_ok = r.ok;
            d.generations_failed = r.failed;
            d.generations_cancelled = r.cancelled;
            d.prompt_tokens = r.prompt_tokens;
            d.completion_tokens = r.completion_tokens;
        }
    }
    let users_new = days.values().map(|d| d.new_users).sum();

    let model_rows: Vec<ModelRow> = load(
        conn,
        &format!(
            "SELECT model, provider, {} AS ok, {} AS failed, {} AS cancelled, \
             {} AS prompt_tokens, {} AS completion_tokens FROM daily_stats \
             WHERE day BETWEEN ? AND ? GROUP BY model, provider ORDER BY model, provider",
            sum("generations_ok"),
            sum("generations_failed"),
            sum("generations_cancelled"),
            sum("prompt_tokens"),
            sum("completion_tokens")
        ),
        range(),
    )?;
    let latency_rows: Vec<LatencyRow> = load(
        conn,
        &format!(
            "SELECT model, provider, bucket, {} AS samples, {} AS sum_ms FROM latency_daily \
             WHERE day BETWEEN ? AND ? GROUP BY model, provider, bucket",
            sum("samples"),
            sum("sum_ms")
        ),
        range(),
    )?;
    // (model, provider) → (histogram, sum of milliseconds)
    type Histogram = (Vec<(i32, i64)>, i64);
    let mut per_model: HashMap<(String, String), Histogram> = HashMap::new();
    let mut overall: BTreeMap<i32, i64> = BTreeMap::new();
    let mut overall_sum = 0;
    for r in latency_rows {
        let entry = per_model.entry((r.model, r.provider)).or_default();
        entry.0.push((r.bucket, r.samples));
        entry.1 += r.sum_ms;
        *overall.entry(r.bucket).or_default() += r.samples;
        overall_sum += r.sum_ms;
    }
    let mut models: Vec<ModelStats> = model_rows
        .into_iter()
        .map(|r| {
            let latency = per_model
                .remove(&(r.model.clone(), r.provider.clone()))
                .map(|(h, s)| LatencySummary::from_histogram(&h, s))
                .unwrap_or_default();
            ModelStats {
                model: r.model,
                provider: r.provider,
                generations_ok: r.ok,
                generations_failed: r.failed,
                generations_cancelled: r.cancelled,
                prompt_tokens: r.prompt_tokens,
                completion_tokens: r.completion_tokens,
                latency,
            }
        })
        .collect();
    // Latency samples of a model without counted generations (cannot happen through
    // record_generation, but keeps the numbers honest after a partial rebuild).
    for ((model, provider), (h, s)) in per_model {
        models.push(ModelStats {
            model,
            provider,
            latency: LatencySummary::from_histogram(&h, s),
            ..ModelStats::default()
        });
    }
    let overall: Vec<(i32, i64)> = overall.into_iter().collect();

    let (limit, _) = clamp_page(top, 0);
    let top_characters: Vec<CharacterRow> = load(
        conn,
        &format!(
            "SELECT cd.character_id AS character_id, c.name AS name, {} AS messages \
             FROM character_daily cd LEFT JOIN characters c ON c.id = cd.character_id \
             WHERE cd.day BETWEEN ? AND ? GROUP BY cd.character_id, c.name \
             ORDER BY messages DESC, cd.character_id LIMIT ?",
            sum("cd.messages")
        ),
        vec![Arg::Date(from), Arg::Date(to), Arg::Int(limit)],
    )?;

    Ok(Overview {
        from: Some(from),
        to: Some(to),
        users_total,
        users_new,
        users_active,
        users_monthly_active,
        days: days.into_values().collect(),
        models,
        latency: LatencySummary::from_histogram(&overall, overall_sum),
        top_characters: top_characters
            .into_iter()
            .map(|r| CharacterStats {
                character_id: CharacterId(r.character_id),
                name: r.name,
                messages: r.messages,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

/// How the admin user list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    CreatedAt,
    Username,
    /// Never-active users last in either direction.
    LastActiveAt,
    /// Prompt + completion tokens this month.
    TokensMonth,
    /// Messages sent this month.
    MessagesMonth,
}

/// Which users the admin list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// A substring of the username, email or display name (case-insensitive).
    pub search: Option<String>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// One line of the admin user list.
#[derive(Debug, Clone, PartialEq)]
pub struct UserListing {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub last_active_at: Option<NaiveDateTime>,
    /// This month (the `month` passed to [`list_users`]).
    pub month: UserTotals,
}

/// Counters of one user over some period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserTotals {
    pub messages: i64,
    pub replies: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

impl UserTotals {
    pub fn total_tokens(&self) -> i64 {
        self.prompt_tokens + self.completion_tokens
    }
}

#[derive(QueryableByName)]
struct UserListingRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Bool)]
    is_active: bool,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_active_at: Option<NaiveDateTime>,
    #[diesel(sql_type = BigInt)]
    messages: i64,
    #[diesel(sql_type = BigInt)]
    replies: i64,
    #[diesel(sql_type = BigInt)]
    prompt_tokens: i64,
    #[diesel(sql_type = BigInt)]
    completion_tokens: i64,
}

fn user_where(backend: Backend, filter: &UserFilter, args: &mut Vec<Arg>) -> String {
    let mut sql = String::from(" WHERE 1 = 1");
    if let Some(search) = filter.search.as_deref().filter(|s| !s.is_empty()) {
        // PostgreSQL's LIKE is case-sensitive, SQLite's is not (for ASCII).
        let like = match backend {
            Backend::Postgres => "ILIKE",
            Backend::Sqlite => "LIKE",
        };
        sql.push_str(&format!(
            " AND (u.username {like} ? ESCAPE '\\' OR u.email {like} ? ESCAPE '\\' \
             OR u.display_name {like} ? ESCAPE '\\')"
        ));
        let pattern = contains_pattern(search);
        for _ in 0..3 {
            args.push(Arg::Text(pattern.clone()));
        }
    }
    if let Some(role) = filter.role {
        sql.push_str(" AND u.role = ?");
        args.push(Arg::Text(role.as_str().to_owned()));
    }
    if let Some(active) = filter.is_active {
        sql.push_str(" AND u.is_active = ?");
        args.push(Arg::Bool(active));
    }
    sql
}

/// A page of users with this month's counters (`month` is the first day of the month).
pub fn list_users(
    conn: &mut DbConn,
    filter: &UserFilter,
    sort: UserSort,
    descending: bool,
    month: NaiveDate,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserListing>, DbError> {
    let (limit, offset) = clamp_page(limit, offset);
    let dir = if descending { "DESC" } else { "ASC" };
    let order = match sort {
        UserSort::CreatedAt => format!("u.created_at {dir}, u.id {dir}"),
        UserSort::Username => format!("u.username {dir}, u.id {dir}"),
        UserSort::LastActiveAt => {
            format!("(u.last_active_at IS NULL) ASC, u.last_active_at {dir}, u.id {dir}")
        }
        UserSort::TokensMonth => format!(
            "(COALESCE(m.prompt_tokens, 0) + COALESCE(m.completion_tokens, 0)) {dir}, u.id {dir}"
        ),
        UserSort::MessagesMonth => format!("COALESCE(m.messages, 0) {dir}, u.id {dir}"),
    };
    let mut args = vec![Arg::Date(month)];
    let filter_sql = user_where(conn.backend(), filter, &mut args);
    args.push(Arg::Int(limit));
    args.push(Arg::Int(offset));
    let sql = format!(
        "SELECT u.id AS id, u.username AS username, u.email AS email, \
         u.display_name AS display_name, u.role AS role, u.is_active AS is_active, \
         u.created_at AS created_at, u.last_active_at AS last_active_at, \
         COALESCE(m.messages, 0) AS messages, COALESCE(m.replies, 0) AS replies, \
         COALESCE(m.prompt_tokens, 0) AS prompt_tokens, \
         COALESCE(m.completion_tokens, 0) AS completion_tokens \
         FROM users u LEFT JOIN user_monthly m ON m.month_start = ? AND m.user_id = u.id\
         {filter_sql} ORDER BY {order} LIMIT ? OFFSET ?"
    );
    let rows: Vec<UserListingRow> = load(conn, &sql, args)?;
    rows.into_iter()
        .map(|r| {
            let role = r
                .role
                .parse::<Role>()
                .map_err(|e| DbError::Interact(format!("stored role `{}`: {e}", r.role)))?;
            Ok(UserListing {
                id: UserId(r.id),
                username: r.username,
                email: r.email,
                display_name: r.display_name,
                role,
                is_active: r.is_active,
                created_at: r.created_at,
                last_active_at: r.last_active_at,
                month: UserTotals {
                    messages: r.messages,
                    replies: r.replies,
                    prompt_tokens: r.prompt_tokens,
                    completion_tokens: r.completion_tokens,
                },
            })
        })
        .collect()
}

/// How many users [`list_users`] pages through.
pub fn count_users(conn: &mut DbConn, filter: &UserFilter) -> Result<i64, DbError> {
    let mut args = Vec::new();
    let filter_sql = user_where(conn.backend(), filter, &mut args);
    count(
        conn,
        &format!("SELECT COUNT(*) AS n FROM users u{filter_sql}"),
        args,
    )
}

#[derive(QueryableByName)]
struct UserTotalsRow {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = BigInt)]
    messages: i64,
    #[diesel(sql_type = BigInt)]
    replies: i64,
    #[diesel(sql_type = BigInt)]
    prompt_tokens: i64,
    #[diesel(sql_type = BigInt)]
    completion_tokens: i64,
}

/// All-time counters of the given users (users without activity are absent).
pub fn user_totals(
    conn: &mut DbConn,
    users: &[UserId],
) -> Result<HashMap<UserId, UserTotals>, DbError> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders = vec!["?"; users.len()].join(", ");
    let rows: Vec<UserTotalsRow> = load(
        conn,
        &format!(
            "SELECT user_id, {} AS messages, {} AS replies, {} AS prompt_tokens, \
             {} AS completion_tokens FROM user_monthly WHERE user_id IN ({placeholders}) \
             GROUP BY user_id",
            sum("messages"),
            sum("replies"),
            sum("prompt_tokens"),
            sum("completion_tokens")
        ),
        users.iter().map(|u| Arg::Int(u.0)).collect(),
    )?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                UserId(r.user_id),
                UserTotals {
                    messages: r.messages,
                    replies: r.replies,
                    prompt_tokens: r.prompt_tokens,
                    completion_tokens: r.completion_tokens,
                },
            )
        })
        .collect())
}

/// The user's counters for the month starting `month`.
pub fn user_month(
    conn: &mut DbConn,
    user: UserId,
    month: NaiveDate,
) -> Result<UserTotals, DbError> {
    let rows: Vec<UserTotalsRow> = load(
        conn,
        "SELECT user_id, messages, replies, prompt_tokens, completion_tokens FROM user_monthly \
         WHERE month_start = ? AND user_id = ?",
        vec![Arg::Date(month), Arg::Int(user.0)],
    )?;
    Ok(rows
        .first()
        .map(|r| UserTotals {
            messages: r.messages,
            replies: r.replies,
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
        })
        .unwrap_or_default())
}

/// Conversations the user is an active member of.
pub fn conversation_count(conn: &mut DbConn, user: UserId) -> Result<i64, DbError> {
    count(
        conn,
        "SELECT COUNT(*) AS n FROM conversation_members WHERE user_id = ? AND left_at IS NULL",
        vec![Arg::Int(user.0)],
    )
}

// ---------------------------------------------------------------------------------------------
// Per-user usage
// ---------------------------------------------------------------------------------------------

/// A user's usage on one day (only days with something to report).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserDayUsage {
    pub day: NaiveDate,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// Charged AI jobs (replies and stories), from `usage_daily`.
    pub replies: i64,
    /// Messages the user sent.
    pub messages: i64,
    /// Conversations the user started.
    pub conversations: i64,
}

/// A user's usage of one model over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserModelUsage {
    pub model: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub replies: i64,
}

#[derive(QueryableByName)]
struct UsageDayRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    prompt_tokens: i64,
    #[diesel(sql_type = BigInt)]
    completion_tokens: i64,
    #[diesel(sql_type = BigInt)]
    replies: i64,
}

#[derive(QueryableByName)]
struct ActivityRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    messages: i64,
}

#[derive(QueryableByName)]
struct UsageModelRow {
    #[diesel(sql_type = Text)]
    model: String,
    #[diesel(sql_type = BigInt)]
    prompt_tokens: i64,
    #[diesel(sql_type = BigInt)]
    completion_tokens: i64,
    #[diesel(sql_type = BigInt)]
    replies: i64,
}

/// The user's usage per day from `from` to `to` inclusive, days with activity only, in order.
pub fn user_usage_by_day(
    conn: &mut DbConn,
    user: UserId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<UserDayUsage>, DbError> {
    let tokens: Vec<UsageDayRow> = load(
        conn,
        &format!(
            "SELECT day, {} AS prompt_tokens, {} AS completion_tokens, {} AS replies \
             FROM usage_daily WHERE user_id = ? AND day BETWEEN ? AND ? GROUP BY day",
            sum("prompt_tokens"),
            sum("completion_tokens"),
            sum("messages")
        ),
        vec![Arg::Int(user.0), Arg::Date(from), Arg::Date(to)],
    )?;
    let activity: Vec<ActivityRow> = load(
        conn,
        "SELECT day, messages FROM user_activity_daily WHERE user_id = ? AND day BETWEEN ? AND ?",
        vec![Arg::Int(user.0), Arg::Date(from), Arg::Date(to)],
    )?;
    let started: Vec<DayCountRow> = load(
        conn,
        "SELECT date(created_at) AS day, COUNT(*) AS n FROM conversations \
         WHERE owner_id = ? AND created_at >= ? AND created_at < ? GROUP BY date(created_at)",
        vec![
            Arg::Int(user.0),
            Arg::Ts(day_start(from)),
            Arg::Ts(day_start(to + Duration::days(1))),
        ],
    )?;
    let mut days: BTreeMap<NaiveDate, UserDayUsage> = BTreeMap::new();
    fn at(days: &mut BTreeMap<NaiveDate, UserDayUsage>, day: NaiveDate) -> &mut UserDayUsage {
        days.entry(day).or_insert_with(|| UserDayUsage {
            day,
            ..UserDayUsage::default()
        })
    }
    for r in tokens {
        let d = at(&mut days, r.day);
        d.prompt_tokens += r.prompt_tokens;
        d.completion_tokens += r.completion_tokens;
        d.replies += r.replies;
    }
    for r in activity.into_iter().filter(|r| r.messages > 0) {
        at(&mut days, r.day).messages += r.messages;
    }
    for r in started {
        at(&mut days, r.day).conversations += r.n;
    }
    Ok(days.into_values().collect())
}

/// The user's usage per model from `from` to `to` inclusive, by model.
pub fn user_usage_by_model(
    conn: &mut DbConn,
    user: UserId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<UserModelUsage>, DbError> {
    let rows: Vec<UsageModelRow> = load(
        conn,
        &format!(
            "SELECT model, {} AS prompt_tokens, {} AS completion_tokens, {} AS replies \
             FROM usage_daily WHERE user_id = ? AND day BETWEEN ? AND ? \
             GROUP BY model ORDER BY model",
            sum("prompt_tokens"),
            sum("completion_tokens"),
            sum("messages")
        ),
        vec![Arg::Int(user.0), Arg::Date(from), Arg::Date(to)],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| UserModelUsage {
            model: r.model,
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
            replies: r.replies,
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

/// One line of the usage export: a user's tokens on one day with one model.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct UsageExportRow {
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = Text)]
    pub username: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub model: String,
    #[diesel(sql_type = BigInt)]
    pub replies: i64,
    #[diesel(sql_type = BigInt)]
    pub prompt_tokens: i64,
    #[diesel(sql_type = BigInt)]
    pub completion_tokens: i64,
}

impl UsageExportRow {
    /// Where the next page starts.
    pub fn cursor(&self) -> ExportCursor {
        ExportCursor {
            day: self.day,
            user_id: self.user_id,
            model: self.model.clone(),
        }
    }
}

/// The position after a row of the export, in (day, user id, model) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCursor {
    pub day: NaiveDate,
    pub user_id: i64,
    pub model: String,
}

/// Up to `limit` export rows of `from`–`to` after `after`, in (day, user id, model) order, so an
/// export of any size streams in constant memory.
pub fn usage_export_page(
    conn: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
    after: Option<&ExportCursor>,
    limit: i64,
) -> Result<Vec<UsageExportRow>, DbError> {
    let (limit, _) = clamp_page(limit, 0);
    let mut args = vec![Arg::Date(from), Arg::Date(to)];
    let mut keyset = String::new();
    if let Some(c) = after {
        keyset.push_str(
            " AND (ud.day > ? OR (ud.day = ? AND (ud.user_id > ? \
             OR (ud.user_id = ? AND ud.model > ?))))",
        );
        args.extend([
            Arg::Date(c.day),
            Arg::Date(c.day),
            Arg::Int(c.user_id),
            Arg::Int(c.user_id),
            Arg::Text(c.model.clone()),
        ]);
    }
    args.push(Arg::Int(limit));
    load(
        conn,
        &format!(
            "SELECT ud.day AS day, ud.user_id AS user_id, u.username AS username, \
             u.email AS email, ud.model AS model, ud.messages AS replies, \
             ud.prompt_tokens AS prompt_tokens, ud.completion_tokens AS completion_tokens \
             FROM usage_daily ud JOIN users u ON u.id = ud.user_id \
             WHERE ud.day BETWEEN ? AND ?{keyset} \
             ORDER BY ud.day, ud.user_id, ud.model LIMIT ?"
        ),
        args,
    )
}

// ---------------------------------------------------------------------------------------------
// Rebuild
// ---------------------------------------------------------------------------------------------

/// What [`rebuild_from_messages`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RebuildReport {
    pub activity_rows: usize,
    pub generation_rows: usize,
    pub character_rows: usize,
    pub monthly_rows: usize,
    pub ledger_rows: usize,
}

/// Recomputes the counters from the stored messages, in bulk SQL: after upgrading a deployment
/// that has messages from before the roll-ups, or to build benchmark data. Latency cannot be
/// recovered from messages, so `latency_daily` is left as it is; every stored message and job is
/// put in the ledger so a later retry does not count it again. Run it while no messages are
/// being sent (it replaces the counters in one transaction).
pub fn rebuild_from_messages(conn: &mut DbConn) -> Result<RebuildReport, DbError> {
    let backend = conn.backend();
    // provider_of() and month_start() in SQL.
    let (provider, month_of_day, day_bit) = match backend {
        Backend::Postgres => (
            "split_part(model, '/', 1)",
            "CAST(date_trunc('month', day) AS DATE)",
            "(CAST(1 AS BIGINT) << (CAST(EXTRACT(DAY FROM day) AS INTEGER) - 1))",
        ),
        Backend::Sqlite => (
            "CASE WHEN instr(model, '/') > 0 THEN substr(model, 1, instr(model, '/') - 1) \
             ELSE model END",
            "date(day, 'start of month')",
            "(1 << (CAST(strftime('%d', day) AS INTEGER) - 1))",
        ),
    };
    // A generation is an assistant message with a job id in a final state.
    const GENERATION: &str = "r.role = 'assistant' AND r.job_id IS NOT NULL \
        AND r.status IN ('complete', 'failed', 'cancelled')";
    transaction(conn, |conn| {
        for table in [
            "daily_stats",
            "day_stats",
            "character_daily",
            "user_activity_daily",
            "user_monthly",
        ] {
            execute(conn, &format!("DELETE FROM {table}"), vec![])?;
        }
        let activity_rows = execute(
            conn,
            &format!(
                "INSERT INTO user_activity_daily (day, user_id, messages, replies) \
                 SELECT day, user_id, {}, {} FROM ( \
                   SELECT date(m.created_at) AS day, m.author_id AS user_id, 1 AS messages, \
                          0 AS replies \
                   FROM messages m WHERE m.role = 'user' AND m.author_id IS NOT NULL \
                   UNION ALL \
                   SELECT date(r.created_at), t.author_id, 0, \
                          CASE WHEN r.status = 'complete' THEN 1 ELSE 0 END \
                   FROM messages r JOIN messages t ON t.id = r.reply_to_id \
                   WHERE {GENERATION} AND t.author_id IS NOT NULL \
                 ) a GROUP BY day, user_id",
                sum("messages"),
                sum("replies")
            ),
            vec![],
        )?;
        execute(
            conn,
            &format!(
                "INSERT INTO day_stats (day, shard, user_messages, active_users) \
                 SELECT day, 0, {}, COUNT(*) FROM user_activity_daily GROUP BY day",
                sum("messages")
            ),
            vec![],
        )?;
        let generation_rows = execute(
            conn,
            &format!(
                "INSERT INTO daily_stats (day, model, provider, shard, generations_ok, \
                   generations_failed, generations_cancelled, prompt_tokens, completion_tokens) \
                 SELECT day, model, {provider}, 0, {}, {}, {}, {}, {} FROM ( \
                   SELECT date(r.created_at) AS day, COALESCE(r.model, 'unknown') AS model, \
                          r.status AS status, COALESCE(r.prompt_tokens, 0) AS p, \
                          COALESCE(r.completion_tokens, 0) AS c \
                   FROM messages r WHERE {GENERATION} \
                 ) g GROUP BY day, model",
                sum("CASE WHEN status = 'complete' THEN 1 ELSE 0 END"),
                sum("CASE WHEN status = 'failed' THEN 1 ELSE 0 END"),
                sum("CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END"),
                sum("p"),
                sum("c")
            ),
            vec![],
        )?;
        let character_rows = execute(
            conn,
            "INSERT INTO character_daily (day, character_id, messages) \
             SELECT day, character_id, COUNT(*) FROM ( \
               SELECT date(m.created_at) AS day, c.character_id AS character_id \
               FROM messages m JOIN conversations c ON c.id = m.conversation_id \
               WHERE m.role = 'user' AND m.author_id IS NOT NULL AND c.character_id IS NOT NULL \
               UNION ALL \
               SELECT date(r.created_at), r.character_id FROM messages r \
               WHERE r.role = 'assistant' AND r.job_id IS NOT NULL AND r.status = 'complete' \
                 AND r.character_id IS NOT NULL \
             ) x GROUP BY day, character_id",
            vec![],
        )?;
        let monthly_rows = execute(
            conn,
            &format!(
                "INSERT INTO user_monthly (month_start, user_id, messages, replies, \
                   prompt_tokens, completion_tokens, active_days) \
                 SELECT month_start, user_id, {}, {}, {}, {}, {} FROM ( \
                   SELECT {month_of_day} AS month_start, user_id, messages, replies, \
                          0 AS p, 0 AS c, {day_bit} AS bit FROM user_activity_daily \
                   UNION ALL \
                   SELECT {month_of_day} AS month_start, user_id, 0, 0, p, c, 0 FROM ( \
                     SELECT date(r.created_at) AS day, t.author_id AS user_id, \
                            COALESCE(r.prompt_tokens, 0) AS p, \
                            COALESCE(r.completion_tokens, 0) AS c \
                     FROM messages r JOIN messages t ON t.id = r.reply_to_id \
                     WHERE {GENERATION} AND t.author_id IS NOT NULL \
                   ) g \
                 ) x GROUP BY month_start, user_id",
                sum("messages"),
                sum("replies"),
                sum("p"),
                sum("c"),
                // Days are distinct per user and month here, so the sum of their bits is their OR.
                sum("bit")
            ),
            vec![],
        )?;
        let at = now();
        let mut ledger_rows = execute(
            conn,
            "INSERT INTO stats_ledger (event_key, recorded_at) \
             SELECT 'msg:' || m.id, ? FROM messages m \
             WHERE m.role = 'user' AND m.author_id IS NOT NULL \
             ON CONFLICT DO NOTHING",
            vec![Arg::Ts(at)],
        )?;
        ledger_rows += execute(
            conn,
            &format!(
                "INSERT INTO stats_ledger (event_key, recorded_at) \
                 SELECT 'gen:' || r.job_id, ? FROM messages r WHERE {GENERATION} \
                 ON CONFLICT DO NOTHING"
            ),
            vec![Arg::Ts(at)],
        )?;
        Ok(RebuildReport {
            activity_rows,
            generation_rows,
            character_rows,
            monthly_rows,
            ledger_rows,
        })
    })
}
