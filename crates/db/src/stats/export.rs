//! The usage export, page by page.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};

use crate::{clamp_page, DbConn, DbError};

use super::sql::{load, Arg};

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
