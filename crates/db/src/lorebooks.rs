//! Lorebooks: a character's own (imported with its card) and users' standalone ones, attached to
//! conversations. The book itself is the Character Card V2 `character_book` JSON, kept as text.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{CharacterId, ConversationId, LorebookId, UserId};

use crate::schema::{conversation_lorebooks, lorebooks};
use crate::types::now;
use crate::{found, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = lorebooks)]
pub struct LorebookRow {
    #[diesel(deserialize_as = i64)]
    pub id: LorebookId,
    #[diesel(deserialize_as = i64)]
    pub owner_id: UserId,
    pub character_id: Option<i64>,
    pub name: String,
    /// The V2 `character_book` as JSON text.
    pub book: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl LorebookRow {
    pub fn character(&self) -> Option<CharacterId> {
        self.character_id.map(CharacterId)
    }
}

/// What identifies a version of a book without reading it: for caches of compiled books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BookVersion {
    pub id: LorebookId,
    pub updated_at: NaiveDateTime,
}

pub fn insert(
    conn: &mut DbConn,
    owner: UserId,
    character: Option<CharacterId>,
    name: &str,
    book: &str,
) -> Result<LorebookRow, DbError> {
    let at = now();
    Ok(diesel::insert_into(lorebooks::table)
        .values((
            lorebooks::owner_id.eq(owner.0),
            lorebooks::character_id.eq(character.map(|c| c.0)),
            lorebooks::name.eq(name),
            lorebooks::book.eq(book),
            lorebooks::created_at.eq(at),
            lorebooks::updated_at.eq(at),
        ))
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConn, id: LorebookId) -> Result<LorebookRow, DbError> {
    Ok(lorebooks::table
        .find(id.0)
        .select(LorebookRow::as_select())
        .first(conn)?)
}

/// The book bound to a character, if it has one.
pub fn find_for_character(
    conn: &mut DbConn,
    character: CharacterId,
) -> Result<Option<LorebookRow>, DbError> {
    Ok(lorebooks::table
        .filter(lorebooks::character_id.eq(character.0))
        .select(LorebookRow::as_select())
        .first(conn)
        .optional()?)
}

/// A user's books (their characters' included), newest first.
pub fn list(conn: &mut DbConn, owner: UserId) -> Result<Vec<LorebookRow>, DbError> {
    Ok(lorebooks::table
        .filter(lorebooks::owner_id.eq(owner.0))
        .order(lorebooks::id.desc())
        .limit(1000)
        .select(LorebookRow::as_select())
        .load(conn)?)
}

pub fn update(
    conn: &mut DbConn,
    id: LorebookId,
    name: &str,
    book: &str,
) -> Result<LorebookRow, DbError> {
    // Microseconds, and never equal to the previous version's: caches key compiled books by it.
    let mut at = now();
    let before = find(conn, id)?;
    if at <= before.updated_at {
        at = before.updated_at + chrono::Duration::microseconds(1);
    }
    Ok(diesel::update(lorebooks::table.find(id.0))
        .set((
            lorebooks::name.eq(name),
            lorebooks::book.eq(book),
            lorebooks::updated_at.eq(at),
        ))
        .get_result(conn)?)
}

/// Replaces (or creates) a character's own book.
pub fn put_for_character(
    conn: &mut DbConn,
    owner: UserId,
    character: CharacterId,
    name: &str,
    book: &str,
) -> Result<LorebookRow, DbError> {
    match find_for_character(conn, character)? {
        Some(existing) => update(conn, existing.id, name, book),
        None => insert(conn, owner, Some(character), name, book),
    }
}

pub fn delete(conn: &mut DbConn, id: LorebookId) -> Result<(), DbError> {
    found(diesel::delete(lorebooks::table.find(id.0)).execute(conn)?)
}

/// Attaches a book to a conversation; attaching twice is a no-op.
pub fn attach(
    conn: &mut DbConn,
    conversation: ConversationId,
    id: LorebookId,
    by: UserId,
) -> Result<(), DbError> {
    let exists = conversation_lorebooks::table
        .find((conversation.0, id.0))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        diesel::insert_into(conversation_lorebooks::table)
            .values((
                conversation_lorebooks::conversation_id.eq(conversation.0),
                conversation_lorebooks::lorebook_id.eq(id.0),
                conversation_lorebooks::attached_by.eq(by.0),
                conversation_lorebooks::created_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn detach(
    conn: &mut DbConn,
    conversation: ConversationId,
    id: LorebookId,
) -> Result<(), DbError> {
    found(diesel::delete(conversation_lorebooks::table.find((conversation.0, id.0))).execute(conn)?)
}

/// The books attached to a conversation, in the order they were attached.
pub fn attached(
    conn: &mut DbConn,
    conversation: ConversationId,
) -> Result<Vec<LorebookRow>, DbError> {
    Ok(conversation_lorebooks::table
        .inner_join(lorebooks::table)
        .filter(conversation_lorebooks::conversation_id.eq(conversation.0))
        .order((
            conversation_lorebooks::created_at.asc(),
            lorebooks::id.asc(),
        ))
        .select(LorebookRow::as_select())
        .load(conn)?)
}

/// Versions of the books a prompt reads (attached ones and the character's), without their
/// text: the worker reads the text only of versions it has not compiled yet.
pub fn versions_for_prompt(
    conn: &mut DbConn,
    conversation: ConversationId,
    character: Option<CharacterId>,
) -> Result<Vec<BookVersion>, DbError> {
    let mut versions: Vec<BookVersion> = Vec::new();
    if let Some(character) = character {
        let own: Option<(i64, NaiveDateTime)> = lorebooks::table
            .filter(lorebooks::character_id.eq(character.0))
            .select((lorebooks::id, lorebooks::updated_at))
            .first(conn)
            .optional()?;
        versions.extend(own.map(|(id, updated_at)| BookVersion {
            id: LorebookId(id),
            updated_at,
        }));
    }
    let attached: Vec<(i64, NaiveDateTime)> = conversation_lorebooks::table
        .inner_join(lorebooks::table)
        .filter(conversation_lorebooks::conversation_id.eq(conversation.0))
        .order((
            conversation_lorebooks::created_at.asc(),
            lorebooks::id.asc(),
        ))
        .select((lorebooks::id, lorebooks::updated_at))
        .load(conn)?;
    for (id, updated_at) in attached {
        if !versions.iter().any(|v| v.id.0 == id) {
            versions.push(BookVersion {
                id: LorebookId(id),
                updated_at,
            });
        }
    }
    Ok(versions)
}
