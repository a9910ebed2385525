//! Reactions on messages (issue 19): one row per (message, emoji, person), aggregated for views.

use std::collections::HashMap;

use diesel::prelude::*;
use domain::reactions::ReactionCount;
use domain::{MessageId, UserId};

use crate::schema::message_reactions;
use crate::types::now;
use crate::{on_backend, DbConn, DbError};

/// What adding a reaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Stored; `count` people have this emoji on the message now.
    New { count: u32 },
    /// The person had already reacted with it: nothing changed.
    Already { count: u32 },
    /// The message has `max` distinct emoji already and this one is not among them.
    Full,
}

/// Adds `user`'s `emoji` to `message`, unless the message already carries `max_distinct`
/// other emoji. Runs in the caller's transaction when there is one; the distinct-count check
/// and the insert race only with another new emoji at the very limit, where one extra is
/// harmless.
pub fn add(
    conn: &mut DbConn,
    message: MessageId,
    user: UserId,
    emoji: &str,
    max_distinct: usize,
) -> Result<Added, DbError> {
    let distinct: Vec<String> = message_reactions::table
        .filter(message_reactions::message_id.eq(message.0))
        .select(message_reactions::emoji)
        .distinct()
        .load(conn)?;
    if !distinct.iter().any(|e| e == emoji) && distinct.len() >= max_distinct {
        return Ok(Added::Full);
    }
    let at = now();
    let inserted = on_backend!(conn, |c| diesel::insert_into(message_reactions::table)
        .values((
            message_reactions::message_id.eq(message.0),
            message_reactions::emoji.eq(emoji),
            message_reactions::user_id.eq(user.0),
            message_reactions::created_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    let count = count_of(conn, message, emoji)?;
    Ok(if inserted == 1 {
        Added::New { count }
    } else {
        Added::Already { count }
    })
}

/// Removes `user`'s `emoji` from `message`. Returns the count left, or `None` when there was
/// nothing to remove.
pub fn remove(
    conn: &mut DbConn,
    message: MessageId,
    user: UserId,
    emoji: &str,
) -> Result<Option<u32>, DbError> {
    let n =
        diesel::delete(message_reactions::table.find((message.0, emoji, user.0))).execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    count_of(conn, message, emoji).map(Some)
}

fn count_of(conn: &mut DbConn, message: MessageId, emoji: &str) -> Result<u32, DbError> {
    let n: i64 = message_reactions::table
        .filter(message_reactions::message_id.eq(message.0))
        .filter(message_reactions::emoji.eq(emoji))
        .count()
        .get_result(conn)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The reactions of `messages`, aggregated per emoji (most chosen first, then oldest first),
/// with `mine` for `viewer`. One query for the whole page.
pub fn summaries(
    conn: &mut DbConn,
    messages: &[MessageId],
    viewer: Option<UserId>,
) -> Result<HashMap<MessageId, Vec<ReactionCount>>, DbError> {
    if messages.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.0).collect();
    let rows: Vec<(i64, String, i64, chrono::NaiveDateTime)> = message_reactions::table
        .filter(message_reactions::message_id.eq_any(&ids))
        .order((message_reactions::message_id, message_reactions::created_at))
        .select((
            message_reactions::message_id,
            message_reactions::emoji,
            message_reactions::user_id,
            message_reactions::created_at,
        ))
        .load(conn)?;
    let mut out: HashMap<MessageId, Vec<ReactionCount>> = HashMap::new();
    for (message, emoji, user, _) in rows {
        let list = out.entry(MessageId(message)).or_default();
        let mine = viewer.is_some_and(|v| v.0 == user);
        match list.iter_mut().find(|r| r.emoji == emoji) {
            Some(r) => {
                r.count += 1;
                r.mine |= mine;
            }
            None => list.push(ReactionCount {
                emoji,
                count: 1,
                mine,
            }),
        }
    }
    for list in out.values_mut() {
        // Stable: equal counts keep first-reacted order.
        list.sort_by_key(|r| std::cmp::Reverse(r.count));
    }
    Ok(out)
}
