//! Per-user usage by day and by model.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};
use domain::UserId;

use crate::{DbConn, DbError};

use super::sql::{day_start, load, sum, Arg, DayCountRow};

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
pub(super) struct UsageDayRow {
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
pub(super) struct ActivityRow {
    #[diesel(sql_type = Date)]
    day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    messages: i64,
}

#[derive(QueryableByName)]
pub(super) struct UsageModelRow {
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
