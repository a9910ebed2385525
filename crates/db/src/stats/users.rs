//! The user list and per-user totals.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
use domain::{Role, UserId};

use crate::types::contains_pattern;
use crate::{clamp_page, Backend, DbConn, DbError};

use super::sql::{count, load, sum, Arg};

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
pub(super) struct UserListingRow {
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

pub(super) fn user_where(backend: Backend, filter: &UserFilter, args: &mut Vec<Arg>) -> String {
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
pub(super) struct UserTotalsRow {
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
