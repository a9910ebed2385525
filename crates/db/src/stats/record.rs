//! Recording: the counters written as messages and replies are stored.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::upsert::excluded;
use domain::{CharacterId, MessageId, UserId};

use crate::schema::users;
use crate::schema::{
    character_daily, daily_stats, day_stats, latency_daily, stats_ledger, user_activity_daily,
    user_monthly,
};
use crate::types::now;
use crate::{on_backend, transaction, DbConn, DbError};

use super::latency::latency_bucket;
use super::limits::SHARDS;

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

pub(super) fn shard_of_text(key: &str) -> i32 {
    // FNV-1a: stable across processes and releases, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % SHARDS as u64) as i32
}

pub(super) fn shard_of_id(id: i64) -> i32 {
    id.rem_euclid(SHARDS) as i32
}

/// Puts `key` in the ledger; false if it was there already (the event was recorded before).
pub(super) fn claim(conn: &mut DbConn, key: &str) -> Result<bool, DbError> {
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
pub(super) fn add_activity(
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

pub(super) fn add_day(
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

pub(super) struct MonthlyDelta {
    messages: i64,
    replies: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
}

pub(super) fn add_monthly(
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
pub(super) fn day_bit(day: NaiveDate) -> i64 {
    1_i64 << day.day0()
}

/// The bits of the days of `month` (its first day) that lie within `from`–`to`.
pub(super) fn month_mask(month: NaiveDate, from: NaiveDate, to: NaiveDate) -> i64 {
    let mut mask = 0;
    let mut day = month.max(from);
    while day <= to && month_start(day) == month {
        mask |= day_bit(day);
        day += Duration::days(1);
    }
    mask
}

pub(super) fn add_character(
    conn: &mut DbConn,
    day: NaiveDate,
    character: CharacterId,
) -> Result<(), DbError> {
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
