//! Conversation membership: who is in a conversation, their role, and how far they have read.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use domain::{ConversationId, MemberRole, MessageId, UserId};

use crate::schema::{conversation_members, users};
use crate::types::{now, DbEnum, NullableId};
use crate::{on_backend, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = conversation_members)]
pub struct MemberRow {
    #[diesel(deserialize_as = i64)]
    pub conversation_id: ConversationId,
    #[diesel(deserialize_as = i64)]
    pub user_id: UserId,
    #[diesel(deserialize_as = DbEnum<MemberRole>)]
    pub role: MemberRole,
    pub joined_at: NaiveDateTime,
    /// Set when the member left or was removed; the row stays so a re-join keeps the read marker.
    pub left_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = NullableId<MessageId>)]
    pub last_read_message_id: Option<MessageId>,
    /// When the member pinned the conversation to the top of their list.
    pub pinned_at: Option<NaiveDateTime>,
    /// When the member moved it out of their main list.
    pub archived_at: Option<NaiveDateTime>,
}

impl MemberRow {
    pub fn is_active(&self) -> bool {
        self.left_at.is_none()
    }
}

/// A member with the public part of their account, for member lists.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberWithUser {
    pub member: MemberRow,
    pub username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
}

/// Makes `user` an active member with `role`.
///
/// A former member re-joins (left marker cleared, role and join time reset); an active member is
/// returned unchanged, so a double click never demotes an owner. One statement, so two
/// concurrent joins cannot collide.
pub fn add(
    conn: &mut DbConn,
    conversation: ConversationId,
    user: UserId,
    role: MemberRole,
) -> Result<MemberRow, DbError> {
    let at = now();
    let values = (
        conversation_members::conversation_id.eq(conversation.0),
        conversation_members::user_id.eq(user.0),
        conversation_members::role.eq(role.as_str()),
        conversation_members::joined_at.eq(at),
    );
    let changed: Option<MemberRow> = on_backend!(conn, |c| {
        let upsert = diesel::insert_into(conversation_members::table)
            .values(values)
            .on_conflict((
                conversation_members::conversation_id,
                conversation_members::user_id,
            ))
            .do_update()
            .set((
                conversation_members::left_at.eq(None::<NaiveDateTime>),
                conversation_members::role.eq(excluded(conversation_members::role)),
                conversation_members::joined_at.eq(excluded(conversation_members::joined_at)),
            ));
        // `ON CONFLICT … DO UPDATE … WHERE`: only a former member is updated.
        diesel::query_dsl::methods::FilterDsl::filter(
            upsert,
            conversation_members::left_at.is_not_null(),
        )
        .get_result(c)
        .optional()
    })?;
    match changed {
        Some(row) => Ok(row),
        None => find(conn, conversation, user)?.ok_or(DbError::NotFound),
    }
}

/// Marks the member as gone; returns whether they were an active member.
pub fn leave(
    conn: &mut DbConn,
    conversation: ConversationId,
    user: UserId,
) -> Result<bool, DbError> {
    let n = diesel::update(
        conversation_members::table
            .find((conversation.0, user.0))
            .filter(conversation_members::left_at.is_null()),
    )
    .set(conversation_members::left_at.eq(now()))
    .execute(conn)?;
    Ok(n == 1)
}

/// Removal by a moderator is recorded like leaving.
pub fn remove(
    conn: &mut DbConn,
    conversation: ConversationId,
    user: UserId,
) -> Result<bool, DbError> {
    leave(conn, conversation, user)
}

/// The membership row, active or not.
pub fn find(
    conn: &mut DbConn,
    conversation: ConversationId,
    user: UserId,
) -> Result<Option<MemberRow>, DbError> {
    Ok(conversation_members::table
        .find((conversation.0, user.0))
        .select(MemberRow::as_select())
        .first(conn)
        .optional()?)
}

/// Active members in join order.
pub fn list(conn: &mut DbConn, conversation: ConversationId) -> Result<Vec<MemberRow>, DbError> {
    Ok(conversation_members::table
        .filter(conversation_members::conversation_id.eq(conversation.0))
        .filter(conversation_members::left_at.is_null())
        .order((
            conversation_members::joined_at,
            conversation_members::user_id,
        ))
        .select(MemberRow::as_select())
        .load(conn)?)
}

/// Active members with their names, in join order.
pub fn list_with_users(
    conn: &mut DbConn,
    conversation: ConversationId,
) -> Result<Vec<MemberWithUser>, DbError> {
    let rows: Vec<(MemberRow, String, String, Option<String>)> = conversation_members::table
        .inner_join(users::table)
        .filter(conversation_members::conversation_id.eq(conversation.0))
        .filter(conversation_members::left_at.is_null())
        .order((
            conversation_members::joined_at,
            conversation_members::user_id,
        ))
        .select((
            MemberRow::as_select(),
            users::username,
            users::display_name,
            users::avatar_url,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(member, username, display_name, avatar_url)| MemberWithUser {
                member,
                username,
                display_name,
                avatar_url,
            },
        )
        .collect())
}

/// The ids of the active members, for fan-out and notifications.
pub fn active_user_ids(
    conn: &mut DbConn,
    conversation: ConversationId,
) -> Result<Vec<UserId>, DbError> {
    let ids: Vec<i64> = conversation_members::table
        .filter(conversation_members::conversation_id.eq(conversation.0))
        .filter(conversation_members::left_at.is_null())
        .order(conversation_members::user_id)
        .select(conversation_members::user_id)
        .load(conn)?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// Whether `user` is a member now (a former member is not).
pub fn is_member(
    conn: &mut DbConn,
    conversation: ConversationId,
    user: UserId,
) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(
        conversation_members::table
            .find((conversation.0, user.0))
            .filter(conversation_members::left_at.is_null()),
    ))
    .get_result(conn)?)
}

/// Changes an active member's role.
pub fn set_role(
    conn: &mut DbConn,
    conversation: ConversationId,
    user: UserId,
    role: MemberRole,
) -> Result<MemberRow, DbError> {
    Ok(diesel::update(
        conversation_members::table
            .find((conversation.0, user.0))
            .filter(conversation_members::left_at.is_null()),
    )
    .set(conversation_members::role.eq(role.as_str()))
    .get_result(conn)?)
}

/// Moves the read marker forward to `message`; an older marker (a late request from another
/// device) never moves it back. Returns whether it moved.
pub fn mark_read(
    conn: &mut DbConn,
    conversation: ConversationId,
    user: UserId,
    message: MessageId,
) -> Result<bool, DbError> {
    let n = diesel::update(
        conversation_members::table
            .find((conversation.0, user.0))
            .filter(
                conversation_members::last_read_message_id
                    .is_null()
                    .or(conversation_members::last_read_message_id.lt(message.0)),
            ),
    )
    .set(conversation_members::last_read_message_id.eq(message.0))
    .execute(conn)?;
    Ok(n == 1)
}

/// How many of `user`'s conversations are pinned (the cap is the caller's rule).
pub fn count_pinned(conn: &mut DbConn, user: UserId) -> Result<i64, DbError> {
    Ok(conversation_members::table
        .filter(conversation_members::user_id.eq(user.0))
        .filter(conversation_members::left_at.is_null())
        .filter(conversation_members::pinned_at.is_not_null())
        .count()
        .get_result(conn)?)
}

/// A change to where a conversation sits in one member's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListChange {
    /// To the top of the list; also out of the archive (a pinned conversation is one the member
    /// wants in sight).
    Pin,
    Unpin,
    /// Out of the main list; also unpinned.
    Archive,
    Unarchive,
}

/// Applies `change` to the active member's list state. Idempotent: a repeated pin or archive
/// keeps its first time (pins are ordered by it). NotFound when `user` is not an active member.
pub fn arrange(
    conn: &mut DbConn,
    conversation: ConversationId,
    user: UserId,
    change: ListChange,
) -> Result<MemberRow, DbError> {
    let member = conversation_members::table
        .find((conversation.0, user.0))
        .filter(conversation_members::left_at.is_null());
    let current: MemberRow = member.select(MemberRow::as_select()).first(conn)?;
    let (pinned_at, archived_at) = match change {
        ListChange::Pin => (Some(current.pinned_at.unwrap_or_else(now)), None),
        ListChange::Unpin => (None, current.archived_at),
        ListChange::Archive => (None, Some(current.archived_at.unwrap_or_else(now))),
        ListChange::Unarchive => (current.pinned_at, None),
    };
    Ok(diesel::update(member)
        .set((
            conversation_members::pinned_at.eq(pinned_at),
            conversation_members::archived_at.eq(archived_at),
        ))
        .get_result(conn)?)
}

pub fn count_active(conn: &mut DbConn, conversation: ConversationId) -> Result<i64, DbError> {
    Ok(conversation_members::table
        .filter(conversation_members::conversation_id.eq(conversation.0))
        .filter(conversation_members::left_at.is_null())
        .count()
        .get_result(conn)?)
}
