//! Conversations of every kind: AI chats, direct messages, groups and server channels.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use domain::{
    CharacterId, ConversationId, ConversationKind, MemberRole, MessageId, ServerId, UserId,
    Visibility,
};

use crate::messages::MessageRow;
use crate::schema::{conversation_characters, conversation_members, conversations, messages};
use crate::types::{now, DbEnum, NullableId};
use crate::{clamp_page, found, on_backend, transaction, DbConn, DbError};

#[diesel::declare_sql_function]
extern "SQL" {
    fn coalesce(
        x: diesel::sql_types::Nullable<diesel::sql_types::Timestamp>,
        y: diesel::sql_types::Timestamp,
    ) -> diesel::sql_types::Timestamp;
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = conversations)]
pub struct ConversationRow {
    #[diesel(deserialize_as = i64)]
    pub id: ConversationId,
    #[diesel(deserialize_as = DbEnum<ConversationKind>)]
    pub kind: ConversationKind,
    pub title: String,
    pub description: String,
    /// The character an `ai_chat` talks to.
    #[diesel(deserialize_as = NullableId<CharacterId>)]
    pub character_id: Option<CharacterId>,
    /// The server a `channel` belongs to.
    #[diesel(deserialize_as = NullableId<ServerId>)]
    pub server_id: Option<ServerId>,
    #[diesel(deserialize_as = NullableId<UserId>)]
    pub owner_id: Option<UserId>,
    #[diesel(deserialize_as = DbEnum<Visibility>)]
    pub visibility: Visibility,
    /// 0 means no limit.
    pub member_limit: i32,
    /// `"small:large"` user ids for `direct` conversations; see [`direct_key`].
    pub direct_key: Option<String>,
    /// Channel order within a server.
    pub position: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_message_at: Option<NaiveDateTime>,
    /// For a conversation made by "branch from here": where it was copied from.
    #[diesel(deserialize_as = NullableId<ConversationId>)]
    pub origin_conversation_id: Option<ConversationId>,
    #[diesel(deserialize_as = NullableId<MessageId>)]
    pub origin_message_id: Option<MessageId>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = conversations)]
pub struct NewConversationRow {
    #[diesel(serialize_as = DbEnum<ConversationKind>)]
    pub kind: ConversationKind,
    pub title: String,
    pub description: String,
    #[diesel(serialize_as = NullableId<CharacterId>)]
    pub character_id: Option<CharacterId>,
    #[diesel(serialize_as = NullableId<ServerId>)]
    pub server_id: Option<ServerId>,
    #[diesel(serialize_as = NullableId<UserId>)]
    pub owner_id: Option<UserId>,
    #[diesel(serialize_as = DbEnum<Visibility>)]
    pub visibility: Visibility,
    pub member_limit: i32,
    pub direct_key: Option<String>,
    pub position: i32,
}

impl NewConversationRow {
    /// A private conversation of `kind` owned by `owner`, everything else empty.
    pub fn new(kind: ConversationKind, owner: Option<UserId>) -> Self {
        Self {
            kind,
            title: String::new(),
            description: String::new(),
            character_id: None,
            server_id: None,
            owner_id: owner,
            visibility: Visibility::Private,
            member_limit: 0,
            direct_key: None,
            position: 0,
        }
    }
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = conversations)]
pub struct ConversationChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    #[diesel(skip_update)]
    pub visibility: Option<Visibility>,
    pub member_limit: Option<i32>,
    pub position: Option<i32>,
}

/// One line of a user's conversation list.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationSummary {
    pub conversation: ConversationRow,
    /// The user's role in it.
    pub role: MemberRole,
    /// The newest message that is not deleted.
    pub last_message: Option<MessageRow>,
    /// Messages by others after the user's read marker.
    pub unread_count: i64,
    /// When the user pinned it to the top of their list.
    pub pinned_at: Option<NaiveDateTime>,
    /// When the user archived it (only in the archived section).
    pub archived_at: Option<NaiveDateTime>,
}

/// Which part of a user's conversation list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListSection {
    /// The main list: pinned conversations first, then the rest, each by latest activity.
    #[default]
    Main,
    /// The conversations the user archived, by latest activity.
    Archived,
    /// Both (an administrator's view of a user's conversations).
    All,
}

/// The unique key of the direct conversation between two users, whichever of them starts it.
pub fn direct_key(a: UserId, b: UserId) -> String {
    let (lo, hi) = if a.0 <= b.0 { (a, b) } else { (b, a) };
    format!("{lo}:{hi}")
}

pub fn insert(conn: &mut DbConn, new: NewConversationRow) -> Result<ConversationRow, DbError> {
    let at = now();
    Ok(diesel::insert_into(conversations::table)
        .values((
            new,
            conversations::created_at.eq(at),
            conversations::updated_at.eq(at),
        ))
        .get_result(conn)?)
}

/// Creates the conversation and its first members atomically, so no one ever sees a
/// conversation without its owner.
pub fn insert_with_members(
    conn: &mut DbConn,
    new: NewConversationRow,
    members: &[(UserId, MemberRole)],
) -> Result<ConversationRow, DbError> {
    transaction(conn, |conn| {
        let conversation = insert(conn, new)?;
        for (user, role) in members {
            crate::members::add(conn, conversation.id, *user, *role)?;
        }
        Ok(conversation)
    })
}

/// The direct conversation between `a` and `b`, created with both as members if it does not
/// exist yet. Returns whether it was created. Safe against two first messages racing: the unique
/// `direct_key` lets exactly one insert win and the other reads the winner's row.
pub fn get_or_create_direct(
    conn: &mut DbConn,
    a: UserId,
    b: UserId,
) -> Result<(ConversationRow, bool), DbError> {
    let key = direct_key(a, b);
    if let Some(existing) = find_direct(conn, &key)? {
        return Ok((existing, false));
    }
    transaction(conn, |conn| {
        let mut new = NewConversationRow::new(ConversationKind::Direct, None);
        new.direct_key = Some(key.clone());
        new.member_limit = 2;
        let at = now();
        let created: Option<ConversationRow> =
            on_backend!(conn, |c| diesel::insert_into(conversations::table)
                .values((
                    new,
                    conversations::created_at.eq(at),
                    conversations::updated_at.eq(at),
                ))
                .on_conflict(conversations::direct_key)
                .do_nothing()
                .get_result(c)
                .optional())?;
        match created {
            Some(conversation) => {
                for user in [a, b] {
                    crate::members::add(conn, conversation.id, user, MemberRole::Member)?;
                }
                Ok((conversation, true))
            }
            None => find_direct(conn, &key)?
                .map(|c| (c, false))
                .ok_or(DbError::NotFound),
        }
    })
}

pub fn find(conn: &mut DbConn, id: ConversationId) -> Result<ConversationRow, DbError> {
    Ok(conversations::table
        .find(id.0)
        .select(ConversationRow::as_select())
        .first(conn)?)
}

pub fn find_direct(conn: &mut DbConn, key: &str) -> Result<Option<ConversationRow>, DbError> {
    Ok(conversations::table
        .filter(conversations::direct_key.eq(key))
        .select(ConversationRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn update(
    conn: &mut DbConn,
    id: ConversationId,
    changes: &ConversationChanges,
) -> Result<ConversationRow, DbError> {
    let visibility = changes
        .visibility
        .map(|v| conversations::visibility.eq(v.as_str()));
    Ok(diesel::update(conversations::table.find(id.0))
        .set((changes, visibility, conversations::updated_at.eq(now())))
        .get_result(conn)?)
}

/// Deletes the conversation with its members and messages.
pub fn delete(conn: &mut DbConn, id: ConversationId) -> Result<(), DbError> {
    found(diesel::delete(conversations::table.find(id.0)).execute(conn)?)
}

/// Moves `last_message_at` forward to `at`; never backwards, so a late writer cannot reorder the
/// conversation list.
/// Records where a conversation made by "branch from here" was copied from (issue 15).
pub fn set_origin(
    conn: &mut DbConn,
    id: ConversationId,
    origin: ConversationId,
    message: MessageId,
) -> Result<(), DbError> {
    found(
        diesel::update(conversations::table.find(id.0))
            .set((
                conversations::origin_conversation_id.eq(origin.0),
                conversations::origin_message_id.eq(message.0),
            ))
            .execute(conn)?,
    )
}

pub fn touch_last_message_at(
    conn: &mut DbConn,
    id: ConversationId,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(
        conversations::table.find(id.0).filter(
            conversations::last_message_at
                .is_null()
                .or(conversations::last_message_at.lt(at)),
        ),
    )
    .set(conversations::last_message_at.eq(at))
    .execute(conn)?;
    Ok(())
}

/// The conversations `user` is an active member of in `section` of their list (pinned first,
/// then most recently active first), each with its last message and the user's unread count.
/// Four indexed queries whatever the page size.
pub fn list_for_user(
    conn: &mut DbConn,
    user: UserId,
    section: ListSection,
    limit: i64,
    offset: i64,
) -> Result<Vec<ConversationSummary>, DbError> {
    let (limit, offset) = clamp_page(limit, offset);
    let mut query = conversations::table
        .inner_join(conversation_members::table)
        .filter(conversation_members::user_id.eq(user.0))
        .filter(conversation_members::left_at.is_null())
        .into_boxed();
    query = match section {
        ListSection::Main => query.filter(conversation_members::archived_at.is_null()),
        ListSection::Archived => query.filter(conversation_members::archived_at.is_not_null()),
        ListSection::All => query,
    };
    type Row = (
        ConversationRow,
        DbEnum<MemberRole>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    let page: Vec<Row> = query
        // Pinned first (`IS NULL` is false for them), in the order they were pinned. NULLs sort
        // differently on the two backends, hence the explicit test and COALESCE; a conversation
        // without messages ranks by its creation time.
        .order((
            conversation_members::pinned_at.is_null().asc(),
            conversation_members::pinned_at.asc(),
            coalesce(conversations::last_message_at, conversations::created_at).desc(),
            conversations::id.desc(),
        ))
        .limit(limit)
        .offset(offset)
        .select((
            ConversationRow::as_select(),
            conversation_members::role,
            conversation_members::pinned_at,
            conversation_members::archived_at,
        ))
        .load(conn)?;
    if page.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = page.iter().map(|(c, ..)| c.id.0).collect();

    let last_ids: Vec<Option<i64>> = messages::table
        .filter(messages::conversation_id.eq_any(&ids))
        .filter(messages::on_path.eq(true))
        .filter(messages::deleted_at.is_null())
        .filter(crate::blocks::message_visible_to(user.0))
        .group_by(messages::conversation_id)
        .select(diesel::dsl::max(messages::id))
        .load(conn)?;
    let last_ids: Vec<i64> = last_ids.into_iter().flatten().collect();
    let last: Vec<MessageRow> = messages::table
        .filter(messages::id.eq_any(&last_ids))
        .select(MessageRow::as_select())
        .load(conn)?;
    let mut last: HashMap<ConversationId, MessageRow> =
        last.into_iter().map(|m| (m.conversation_id, m)).collect();

    let unread: Vec<(i64, i64)> = messages::table
        .inner_join(
            conversation_members::table.on(conversation_members::conversation_id
                .eq(messages::conversation_id)
                .and(conversation_members::user_id.eq(user.0))),
        )
        .filter(messages::conversation_id.eq_any(&ids))
        .filter(messages::on_path.eq(true))
        .filter(messages::deleted_at.is_null())
        .filter(crate::blocks::message_visible_to(user.0))
        .filter(
            messages::author_id
                .is_null()
                .or(messages::author_id.ne(user.0)),
        )
        .filter(
            conversation_members::last_read_message_id
                .is_null()
                .or(messages::id
                    .nullable()
                    .gt(conversation_members::last_read_message_id)),
        )
        .group_by(messages::conversation_id)
        .select((messages::conversation_id, count_star()))
        .load(conn)?;
    let unread: HashMap<i64, i64> = unread.into_iter().collect();

    Ok(page
        .into_iter()
        .map(
            |(conversation, role, pinned_at, archived_at)| ConversationSummary {
                last_message: last.remove(&conversation.id),
                unread_count: unread.get(&conversation.id.0).copied().unwrap_or(0),
                role: role.0,
                pinned_at,
                archived_at,
                conversation,
            },
        )
        .collect())
}

/// A server's channels in display order.
pub fn list_channels(conn: &mut DbConn, server: ServerId) -> Result<Vec<ConversationRow>, DbError> {
    Ok(conversations::table
        .filter(conversations::server_id.eq(server.0))
        .filter(conversations::kind.eq(ConversationKind::Channel.as_str()))
        .order((conversations::position, conversations::id))
        .select(ConversationRow::as_select())
        .load(conn)?)
}

/// Public group chats anyone may join, most recently active first.
pub fn list_public_groups(
    conn: &mut DbConn,
    limit: i64,
    offset: i64,
) -> Result<Vec<ConversationRow>, DbError> {
    let (limit, offset) = clamp_page(limit, offset);
    Ok(conversations::table
        .filter(conversations::kind.eq(ConversationKind::Group.as_str()))
        .filter(conversations::visibility.eq(Visibility::Public.as_str()))
        .order((
            coalesce(conversations::last_message_at, conversations::created_at).desc(),
            conversations::id.desc(),
        ))
        .limit(limit)
        .offset(offset)
        .select(ConversationRow::as_select())
        .load(conn)?)
}

/// Adds an AI character to a group or channel; adding it twice is a no-op. Returns whether it
/// was added now.
pub fn add_character(
    conn: &mut DbConn,
    id: ConversationId,
    character: CharacterId,
) -> Result<bool, DbError> {
    let at = now();
    let n = on_backend!(conn, |c| diesel::insert_into(
        conversation_characters::table
    )
    .values((
        conversation_characters::conversation_id.eq(id.0),
        conversation_characters::character_id.eq(character.0),
        conversation_characters::added_at.eq(at),
    ))
    .on_conflict_do_nothing()
    .execute(c))?;
    Ok(n == 1)
}

pub fn remove_character(
    conn: &mut DbConn,
    id: ConversationId,
    character: CharacterId,
) -> Result<bool, DbError> {
    let n = diesel::delete(
        conversation_characters::table
            .filter(conversation_characters::conversation_id.eq(id.0))
            .filter(conversation_characters::character_id.eq(character.0)),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// The characters added to a conversation, in the order they were added.
pub fn list_characters(conn: &mut DbConn, id: ConversationId) -> Result<Vec<CharacterId>, DbError> {
    let ids: Vec<i64> = conversation_characters::table
        .filter(conversation_characters::conversation_id.eq(id.0))
        .order((
            conversation_characters::added_at,
            conversation_characters::character_id,
        ))
        .select(conversation_characters::character_id)
        .load(conn)?;
    Ok(ids.into_iter().map(CharacterId).collect())
}
