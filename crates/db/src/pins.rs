//! Pinned messages (issue 19): per conversation, newest pin first.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{ConversationId, MessageId, UserId};

use crate::messages::MessageRow;
use crate::schema::{message_pins, messages};
use crate::types::now;
use crate::{on_backend, DbConn, DbError};

/// Pins `message`; pinning twice keeps the first pin. Returns whether the pin is new.
pub fn pin(
    conn: &mut DbConn,
    conversation: ConversationId,
    message: MessageId,
    by: UserId,
) -> Result<bool, DbError> {
    let at = now();
    let n = on_backend!(conn, |c| diesel::insert_into(message_pins::table)
        .values((
            message_pins::message_id.eq(message.0),
            message_pins::conversation_id.eq(conversation.0),
            message_pins::pinned_by.eq(by.0),
            message_pins::pinned_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// Returns whether there was a pin to remove.
pub fn unpin(conn: &mut DbConn, message: MessageId) -> Result<bool, DbError> {
    let n = diesel::delete(message_pins::table.find(message.0)).execute(conn)?;
    Ok(n == 1)
}

pub fn count(conn: &mut DbConn, conversation: ConversationId) -> Result<i64, DbError> {
    Ok(message_pins::table
        .filter(message_pins::conversation_id.eq(conversation.0))
        .count()
        .get_result(conn)?)
}

/// The pinned messages of `conversation` with who pinned them and when, newest pin first;
/// messages by people `viewer` blocked are left out like everywhere else.
pub fn list(
    conn: &mut DbConn,
    conversation: ConversationId,
    viewer: UserId,
) -> Result<Vec<(MessageRow, Option<UserId>, NaiveDateTime)>, DbError> {
    let rows: Vec<(MessageRow, Option<i64>, NaiveDateTime)> = message_pins::table
        .inner_join(messages::table)
        .filter(message_pins::conversation_id.eq(conversation.0))
        .filter(crate::blocks::message_visible_to(viewer.0))
        .order((
            message_pins::pinned_at.desc(),
            message_pins::message_id.desc(),
        ))
        .select((
            MessageRow::as_select(),
            message_pins::pinned_by,
            message_pins::pinned_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(m, by, at)| (m, by.map(UserId), at))
        .collect())
}

/// Which of `messages` are pinned.
pub fn pinned_among(conn: &mut DbConn, messages: &[MessageId]) -> Result<Vec<MessageId>, DbError> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.0).collect();
    let found: Vec<i64> = message_pins::table
        .filter(message_pins::message_id.eq_any(&ids))
        .select(message_pins::message_id)
        .load(conn)?;
    Ok(found.into_iter().map(MessageId).collect())
}
