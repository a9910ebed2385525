//! Mentions of people (issue 19): who a message mentions, stored as ids when it was sent.

use std::collections::HashMap;

use diesel::prelude::*;
use domain::{MessageId, UserId};

use crate::schema::message_mentions;
use crate::{on_backend, DbConn, DbError};

pub fn insert(conn: &mut DbConn, message: MessageId, users: &[UserId]) -> Result<(), DbError> {
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
