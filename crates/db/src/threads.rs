//! Threads under messages (issue 19): the replies of one thread, each root's reply count and
//! last reply, and how far each person has read each thread.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, max};
use diesel::prelude::*;
use domain::events::ThreadSummary;
use domain::{MessageId, UserId};

use crate::messages::MessageRow;
use crate::schema::{messages, thread_reads};
use crate::{clamp_page, on_backend, DbConn, DbError};

/// Replies of the thread under `root`, oldest first, after `after`; deleted replies included as
/// tombstones, replies by people `viewer` blocked left out.
pub fn replies(
    conn: &mut DbConn,
    root: MessageId,
    after: Option<MessageId>,
    limit: i64,
    viewer: UserId,
) -> Result<Vec<MessageRow>, DbError> {
    let (limit, _) = clamp_page(limit, 0);
    let mut query = messages::table
        .filter(messages::thread_root_id.eq(root.0))
        .filter(crate::blocks::message_visible_to(viewer.0))
        .order(messages::id.asc())
        .limit(limit)
        .select(MessageRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(messages::id.gt(after.0));
    }
    Ok(query.load(conn)?)
}

/// Reply count and last reply time of each of `roots` that has live replies; with `viewer`, how
/// many replies by others they have not read.
pub fn summaries(
    conn: &mut DbConn,
    roots: &[MessageId],
    viewer: Option<UserId>,
) -> Result<HashMap<MessageId, ThreadSummary>, DbError> {
    if roots.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = roots.iter().map(|m| m.0).collect();
    let rows: Vec<(Option<i64>, i64, Option<NaiveDateTime>)> = messages::table
        .filter(messages::thread_root_id.eq_any(&ids))
        .filter(messages::deleted_at.is_null())
        .group_by(messages::thread_root_id)
        .select((
            messages::thread_root_id,
            count_star(),
            max(messages::created_at),
        ))
        .load(conn)?;
    let mut out = HashMap::new();
    for (root, count, last) in rows {
        let (Some(root), Some(last)) = (root, last) else {
            continue;
        };
        let root = MessageId(root);
        let unread = match viewer {
            Some(v) => unread(conn, root, v)?,
            None => 0,
        };
        out.insert(
            root,
            ThreadSummary {
                reply_count: u32::try_from(count).unwrap_or(u32::MAX),
                last_reply_at: last.and_utc(),
                unread_count: unread,
            },
        );
    }
    Ok(out)
}

/// Live replies under `root` by others, newer than `user`'s marker, that they can see.
fn unread(conn: &mut DbConn, root: MessageId, user: UserId) -> Result<u32, DbError> {
    let read: Option<i64> = thread_reads::table
        .find((root.0, user.0))
        .select(thread_reads::last_read_message_id)
        .first(conn)
        .optional()?;
    let n: i64 = messages::table
        .filter(messages::thread_root_id.eq(root.0))
        .filter(messages::deleted_at.is_null())
        .filter(messages::id.gt(read.unwrap_or(0)))
        .filter(
            messages::author_id
                .is_null()
                .or(messages::author_id.ne(user.0)),
        )
        .filter(crate::blocks::message_visible_to(user.0))
        .count()
        .get_result(conn)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Moves `user`'s marker in the thread under `root` forward to `message` (never back).
pub fn mark_read(
    conn: &mut DbConn,
    root: MessageId,
    user: UserId,
    message: MessageId,
) -> Result<(), DbError> {
    crate::transaction(conn, |conn| {
        let current: Option<i64> = thread_reads::table
            .find((root.0, user.0))
            .select(thread_reads::last_read_message_id)
            .first(conn)
            .optional()?;
        match current {
            Some(at) if at >= message.0 => {}
            Some(_) => {
                diesel::update(thread_reads::table.find((root.0, user.0)))
                    .set(thread_reads::last_read_message_id.eq(message.0))
                    .execute(conn)?;
            }
            None => {
                on_backend!(conn, |c| diesel::insert_into(thread_reads::table)
                    .values((
                        thread_reads::root_id.eq(root.0),
                        thread_reads::user_id.eq(user.0),
                        thread_reads::last_read_message_id.eq(message.0),
                    ))
                    .on_conflict_do_nothing()
                    .execute(c))?;
            }
        }
        Ok(())
    })
}
