//! Token usage per user, day and model, charged exactly once per job.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::upsert::excluded;
use domain::UserId;

use crate::schema::{usage_charges, usage_daily};
use crate::types::now;
use crate::{on_backend, transaction, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = usage_daily)]
pub struct UsageDailyRow {
    #[diesel(deserialize_as = i64)]
    pub user_id: UserId,
    pub day: NaiveDate,
    pub model: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// How many charged jobs (AI replies, stories) the counts add up.
    pub messages: i64,
    pub updated_at: NaiveDateTime,
}

/// Adds one job's tokens to the user's daily row for `model`, once.
///
/// Workers retry and reclaim jobs, so the same job may finish more than once; the job id goes
/// into a ledger in the same transaction as the counters, and a job already in the ledger adds
/// nothing. Returns whether this call charged.
pub fn charge(
    conn: &mut DbConn,
    job_id: &str,
    user: UserId,
    day: NaiveDate,
    model: &str,
    prompt_tokens: i64,
    completion_tokens: i64,
) -> Result<bool, DbError> {
    transaction(conn, |conn| {
        let at = now();
        let ledger = (
            usage_charges::job_id.eq(job_id),
            usage_charges::user_id.eq(user.0),
            usage_charges::created_at.eq(at),
        );
        let new = on_backend!(conn, |c| diesel::insert_into(usage_charges::table)
            .values(ledger)
            .on_conflict_do_nothing()
            .execute(c))?;
        if new == 0 {
            return Ok(false);
        }
        let row = (
            usage_daily::user_id.eq(user.0),
            usage_daily::day.eq(day),
            usage_daily::model.eq(model),
            usage_daily::prompt_tokens.eq(prompt_tokens),
            usage_daily::completion_tokens.eq(completion_tokens),
            usage_daily::messages.eq(1_i64),
            usage_daily::updated_at.eq(at),
        );
        on_backend!(conn, |c| diesel::insert_into(usage_daily::table)
            .values(row)
            .on_conflict((usage_daily::user_id, usage_daily::day, usage_daily::model))
            .do_update()
            .set((
                usage_daily::prompt_tokens
                    .eq(usage_daily::prompt_tokens + excluded(usage_daily::prompt_tokens)),
                usage_daily::completion_tokens
                    .eq(usage_daily::completion_tokens + excluded(usage_daily::completion_tokens)),
                usage_daily::messages.eq(usage_daily::messages + excluded(usage_daily::messages)),
                usage_daily::updated_at.eq(excluded(usage_daily::updated_at)),
            ))
            .execute(c))?;
        Ok(true)
    })
}

/// The user's daily rows from `from` to `to` inclusive, by day then model.
pub fn for_user(
    conn: &mut DbConn,
    user: UserId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<UsageDailyRow>, DbError> {
    Ok(usage_daily::table
        .filter(usage_daily::user_id.eq(user.0))
        .filter(usage_daily::day.between(from, to))
        .order((usage_daily::day, usage_daily::model))
        .select(UsageDailyRow::as_select())
        .load(conn)?)
}

/// Every user's daily rows in a date range, for the admin roll-ups.
pub fn for_range(
    conn: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<UsageDailyRow>, DbError> {
    Ok(usage_daily::table
        .filter(usage_daily::day.between(from, to))
        .order((usage_daily::day, usage_daily::user_id, usage_daily::model))
        .select(UsageDailyRow::as_select())
        .load(conn)?)
}
