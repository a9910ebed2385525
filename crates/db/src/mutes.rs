//! Muted conversations (issue 19): per person, forever or until a time.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{ConversationId, UserId};

use crate::schema::conversation_mutes;
use crate::types::now;
use crate::{on_backend, DbConn, DbError};

/// Mutes `conversation` for `user` until `until` (`None`: until unmuted); muting again moves
/// the end.
pub fn mute(
    conn: &mut DbConn,
    user: UserId,
    conversation: ConversationId,
    until: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    on_backend!(conn, |c| diesel::insert_into(conversation_mutes::table)
        .values((
            conversation_mutes::user_id.eq(user.0),
            conversation_mutes::conversation_id.eq(conversation.0),
            conversation_mutes::muted_until.eq(until),
        ))
        .on_conflict((
            conversation_mutes::user_id,
            conversation_mutes::conversation_id
        ))
        .do_update()
        .set(conversation_mutes::muted_until.eq(until))
        .execute(c))?;
    Ok(())
}

pub fn unmute(
    conn: &mut DbConn,
    user: UserId,
    conversation: ConversationId,
) -> Result<(), DbError> {
    diesel::delete(conversation_mutes::table.find((user.0, conversation.0))).execute(conn)?;
    Ok(())
}

/// Who among everyone has `conversation` muted right now.
pub fn muted_now(conn: &mut DbConn, conversation: ConversationId) -> Result<Vec<UserId>, DbError> {
    let at = now();
    let ids: Vec<i64> = conversation_mutes::table
        .filter(conversation_mutes::conversation_id.eq(conversation.0))
        .filter(
            conversation_mutes::muted_until
                .is_null()
                .or(conversation_mutes::muted_until.gt(at)),
        )
        .select(conversation_mutes::user_id)
        .load(conn)?;
    Ok(ids.into_iter().map(UserId).collect())
}
