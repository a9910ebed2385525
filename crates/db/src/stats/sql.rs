//! Raw SQL shared by both backends: placeholders, binding, loading.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{BigInt, Bool, Date, Text, Timestamp};

use crate::{DbConn, DbError};

/// A bind value of a hand-written query.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Int(i64),
    Text(String),
    Date(NaiveDate),
    Ts(NaiveDateTime),
    Bool(bool),
}

/// `?` placeholders as PostgreSQL's `$1, $2, …` (the queries here contain no other `?`).
pub(super) fn numbered_placeholders(sql: &str) -> String {
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

pub(super) fn bind_args<DB>(
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

pub(super) fn load<T>(conn: &mut DbConn, sql: &str, args: Vec<Arg>) -> Result<Vec<T>, DbError>
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

pub(super) fn execute(conn: &mut DbConn, sql: &str, args: Vec<Arg>) -> Result<usize, DbError> {
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
pub(super) fn sum(expr: &str) -> String {
    format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)")
}

pub(super) fn day_start(day: NaiveDate) -> NaiveDateTime {
    day.and_time(chrono::NaiveTime::MIN)
}

#[derive(QueryableByName)]
pub(super) struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub(super) fn count(conn: &mut DbConn, sql: &str, args: Vec<Arg>) -> Result<i64, DbError> {
    Ok(load::<Count>(conn, sql, args)?
        .first()
        .map(|c| c.n)
        .unwrap_or(0))
}

/// A count per day, as several reports read it.
#[derive(QueryableByName)]
pub(super) struct DayCountRow {
    #[diesel(sql_type = Date)]
    pub(super) day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub(super) n: i64,
}
