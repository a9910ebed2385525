//! Each person's inbox (issue 19): rows per notification, newest first, with a read marker.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::notifications::{NotificationKind, NotificationView};
use domain::{ConversationId, MessageId, UserId};

use crate::schema::{messages, notifications, users};
use crate::types::now;
use crate::{clamp_page, DbConn, DbError};

/// How much of a message an inbox line shows.
const PREVIEW_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub conversation_id: Option<i64>,
    pub message_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
}

/// A notification to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewNotification {
    pub user: UserId,
    pub kind: NotificationKind,
    pub actor: Option<UserId>,
    pub conversation: Option<ConversationId>,
    pub message: Option<MessageId>,
}

pub fn insert(conn: &mut DbConn, new: NewNotification) -> Result<NotificationRow, DbError> {
    Ok(diesel::insert_into(notifications::table)
        .values((
            notifications::user_id.eq(new.user.0),
            notifications::kind.eq(new.kind.as_str()),
            notifications::actor_id.eq(new.actor.map(|a| a.0)),
            notifications::conversation_id.eq(new.conversation.map(|c| c.0)),
            notifications::message_id.eq(new.message.map(|m| m.0)),
            notifications::created_at.eq(now()),
        ))
        .get_result(conn)?)
}

/// A page of `user`'s inbox, newest first, older than `before`.
pub fn list(
    conn: &mut DbConn,
    user: UserId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<NotificationRow>, DbError> {
    let (limit, _) = clamp_page(limit, 0);
    let mut query = notifications::table
        .filter(notifications::user_id.eq(user.0))
        .order(notifications::id.desc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(notifications::id.lt(before));
    }
    Ok(query.load(conn)?)
}

pub fn unread_count(conn: &mut DbConn, user: UserId) -> Result<i64, DbError> {
    Ok(notifications::table
        .filter(notifications::user_id.eq(user.0))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Marks `user`'s notifications read: those in `ids`, or all of them when `ids` is `None`.
/// Other people's ids are ignored. Returns how many changed.
pub fn mark_read(conn: &mut DbConn, user: UserId, ids: Option<&[i64]>) -> Result<usize, DbError> {
    let target = notifications::table
        .filter(notifications::user_id.eq(user.0))
        .filter(notifications::read_at.is_null());
    let at = now();
    Ok(match ids {
        Some(ids) => diesel::update(target.filter(notifications::id.eq_any(ids)))
            .set(notifications::read_at.eq(at))
            .execute(conn)?,
        None => diesel::update(target)
            .set(notifications::read_at.eq(at))
            .execute(conn)?,
    })
}

/// Wire forms with the actors' usernames and message previews (deleted messages show none).
pub fn views(
    conn: &mut DbConn,
    rows: &[NotificationRow],
) -> Result<Vec<NotificationView>, DbError> {
    let actors: Vec<i64> = rows.iter().filter_map(|r| r.actor_id).collect();
    let names: HashMap<i64, String> = if actors.is_empty() {
        HashMap::new()
    } else {
        users::table
            .filter(users::id.eq_any(&actors))
            .select((users::id, users::username))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect()
    };
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.message_id).collect();
    let previews: HashMap<i64, String> = if ids.is_empty() {
        HashMap::new()
    } else {
        messages::table
            .filter(messages::id.eq_any(&ids))
            .filter(messages::deleted_at.is_null())
            .select((messages::id, messages::content))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .map(|(id, text)| (id, text.chars().take(PREVIEW_CHARS).collect()))
            .collect()
    };
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(NotificationView {
                id: r.id,
                kind: NotificationKind::parse(&r.kind)?,
                actor_id: r.actor_id.map(UserId),
                actor_username: r.actor_id.and_then(|a| names.get(&a).cloned()),
                conversation_id: r.conversation_id.map(ConversationId),
                message_id: r.message_id.map(MessageId),
                preview: r.message_id.and_then(|m| previews.get(&m).cloned()),
                created_at: r.created_at.and_utc(),
                read: r.read_at.is_some(),
            })
        })
        .collect())
}
