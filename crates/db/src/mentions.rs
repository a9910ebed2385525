//! Mentions of people (issue 19): who a message mentions, stored as ids when it was sent.

use std::collections::HashMap;

use diesel::prelude::*;
use domain::{MessageId, UserId};

use crate::schema::{message_mentions, messages, users};
use crate::{on_backend, DbConn, DbError};

/// Stores who `message` mentions and whether it addressed everyone.
pub fn insert(
    conn: &mut DbConn,
    message: MessageId,
    users: &[UserId],
    everyone: bool,
) -> Result<(), DbError> {
    if everyone {
        diesel::update(messages::table.find(message.0))
            .set(messages::mention_everyone.eq(true))
            .execute(conn)?;
    }
    if users.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = users
        .iter()
        .map(|u| {
            (
                message_mentions::message_id.eq(message.0),
                message_mentions::user_id.eq(u.0),
            )
        })
        .collect();
    on_backend!(conn, |c| diesel::insert_into(message_mentions::table)
        .values(rows.clone())
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// The people each of `messages` mentions, in id order.
pub fn of(
    conn: &mut DbConn,
    messages: &[MessageId],
) -> Result<HashMap<MessageId, Vec<UserId>>, DbError> {
    if messages.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.0).collect();
    let rows: Vec<(i64, i64)> = message_mentions::table
        .filter(message_mentions::message_id.eq_any(&ids))
        .order((message_mentions::message_id, message_mentions::user_id))
        .select((message_mentions::message_id, message_mentions::user_id))
        .load(conn)?;
    let mut out: HashMap<MessageId, Vec<UserId>> = HashMap::new();
    for (m, u) in rows {
        out.entry(MessageId(m)).or_default().push(UserId(u));
    }
    Ok(out)
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// The active accounts among `names` (lower-cased usernames), as (id, lower-cased name).
pub fn users_named(conn: &mut DbConn, names: &[String]) -> Result<Vec<(UserId, String)>, DbError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, String)> = users::table
        .filter(lower(users::username).eq_any(names))
        .filter(users::is_active.eq(true))
        .select((users::id, users::username))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (UserId(id), name.to_ascii_lowercase()))
        .collect())
}
