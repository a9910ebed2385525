//! Context reports: what the model was shown for each reply (JSON text, `domain::context`).

use diesel::prelude::*;
use domain::{ConversationId, MessageId};

use crate::schema::message_contexts;
use crate::types::now;
use crate::{DbConn, DbError};

/// Stores (or replaces, for a redelivered job) the report of a reply.
pub fn put(
    conn: &mut DbConn,
    message: MessageId,
    conversation: ConversationId,
    report: &str,
) -> Result<(), DbError> {
    crate::transaction(conn, |c| {
        diesel::delete(message_contexts::table.find(message.0)).execute(c)?;
        diesel::insert_into(message_contexts::table)
            .values((
                message_contexts::message_id.eq(message.0),
                message_contexts::conversation_id.eq(conversation.0),
                message_contexts::report.eq(report),
                message_contexts::created_at.eq(now()),
            ))
            .execute(c)?;
        Ok(())
    })
}

/// The report of a reply, as stored.
pub fn find(conn: &mut DbConn, message: MessageId) -> Result<Option<String>, DbError> {
    Ok(message_contexts::table
        .find(message.0)
        .select(message_contexts::report)
        .first(conn)
        .optional()?)
}
