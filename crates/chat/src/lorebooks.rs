//! Lorebooks (world info): a user's own books, CRUD; attaching them to conversations; a
//! character's book imported with its card; and the "test text" the editor uses to show which
//! entries would fire. Only a book's owner sees or changes it (others: not found); attaching
//! needs the conversation's owner or an admin, and a book of the actor's own.

use db::lorebooks::LorebookRow;
use domain::lorebook::matcher::{CompiledBook, Fired};
use domain::lorebook::Lorebook;
use domain::{bounded_text, CharacterId, ConversationId, LorebookId, ValidationError};
use serde_json::Value;

use crate::error::{ChatError, Resource};
use crate::{access, Actor, ChatContext};

/// At most this many books per user.
pub const MAX_BOOKS: usize = 200;

/// A stored book, parsed.
#[derive(Debug, Clone)]
pub struct StoredBook {
    pub row: LorebookRow,
    pub book: Lorebook,
}

fn parse_stored(row: LorebookRow) -> Result<StoredBook, ChatError> {
    // Stored books were validated (or imported as they were); a row that no longer parses is
    // shown empty rather than failing the whole list.
    let book = serde_json::from_str(&row.book).unwrap_or_default();
    Ok(StoredBook { row, book })
}

fn encode(book: &Lorebook) -> Result<String, ChatError> {
    serde_json::to_string(book)
        .map_err(|e| ChatError::from(ValidationError::new("book", format!("cannot encode: {e}"))))
}

/// The name to store: the one given, else the book's own, else a placeholder.
fn name_of(name: Option<&str>, book: &Lorebook) -> Result<String, ChatError> {
    let raw = name
        .or(book.name.as_deref())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("Lorebook");
    Ok(bounded_text("name", raw, 1, 200)?)
}

pub async fn create(
    ctx: &ChatContext,
    actor: &Actor,
    name: Option<String>,
    book: Lorebook,
) -> Result<StoredBook, ChatError> {
    book.validate()?;
    let name = name_of(name.as_deref(), &book)?;
    let text = encode(&book)?;
    let me = actor.id;
    let row = db::run(&ctx.db, move |c| {
        if db::lorebooks::list(c, me)?.len() >= MAX_BOOKS {
            return Ok(None);
        }
        db::lorebooks::insert(c, me, None, &name, &text).map(Some)
    })
    .await?;
    match row {
        Some(row) => parse_stored(row),
        None => Err(ValidationError {
            limit: Some(MAX_BOOKS as u64),
            ..ValidationError::new("lorebooks", format!("at most {MAX_BOOKS} lorebooks"))
        }
        .into()),
    }
}

pub async fn list(ctx: &ChatContext, actor: &Actor) -> Result<Vec<StoredBook>, ChatError> {
    let me = actor.id;
    let rows = db::run(&ctx.db, move |c| db::lorebooks::list(c, me)).await?;
    rows.into_iter().map(parse_stored).collect()
}

/// The actor's book; anyone else's is not found.
pub async fn get(
    ctx: &ChatContext,
    actor: &Actor,
    id: LorebookId,
) -> Result<StoredBook, ChatError> {
    let row = match db::run(&ctx.db, move |c| db::lorebooks::find(c, id)).await {
        Ok(row) => row,
        Err(db::DbError::NotFound) => return Err(ChatError::NotFound(Resource::Lorebook)),
        Err(e) => return Err(e.into()),
    };
    if row.owner_id != actor.id {
        return Err(ChatError::NotFound(Resource::Lorebook));
    }
    parse_stored(row)
}

/// Replaces a book (name and entries). A character's book stays bound to its character.
pub async fn update(
    ctx: &ChatContext,
    actor: &Actor,
    id: LorebookId,
    name: Option<String>,
    book: Lorebook,
) -> Result<StoredBook, ChatError> {
    let current = get(ctx, actor, id).await?;
    book.validate()?;
    let name = match name {
        Some(n) => bounded_text("name", &n, 1, 200)?,
        None => current.row.name,
    };
    let text = encode(&book)?;
    let row = db::run(&ctx.db, move |c| db::lorebooks::update(c, id, &name, &text)).await?;
    parse_stored(row)
}

pub async fn delete(ctx: &ChatContext, actor: &Actor, id: LorebookId) -> Result<(), ChatError> {
    get(ctx, actor, id).await?;
    Ok(db::run(&ctx.db, move |c| db::lorebooks::delete(c, id)).await?)
}

/// An entry that would fire for a text, and on which key.
#[derive(Debug, Clone, PartialEq)]
pub struct TestHit {
    pub entry: usize,
    pub key: Option<String>,
    pub round: u32,
}

/// Which entries of `book` fire for `text` (the editor's test box): the text is scanned as one
/// message, recursion as the book says. Works on unsaved books too, so the editor can test
/// before saving; invalid keys are reported as on save.
pub fn test_text(book: &Lorebook, text: &str) -> Result<Vec<TestHit>, ChatError> {
    book.validate()?;
    if text.chars().count() > 20_000 {
        return Err(ValidationError::too_long("text", 20_000).into());
    }
    let compiled = CompiledBook::new(book.clone());
    Ok(compiled
        .scan(&[text], 1)
        .into_iter()
        .map(|Fired { entry, key, round }| TestHit { entry, key, round })
        .collect())
}

/// Attaches one of the actor's books to a conversation (its owner or admins).
pub async fn attach(
    ctx: &ChatContext,
    actor: &Actor,
    conversation: ConversationId,
    id: LorebookId,
) -> Result<Vec<LorebookRow>, ChatError> {
    access::managed_conversation(ctx, conversation, actor.id).await?;
    get(ctx, actor, id).await.map_err(|e| match e {
        ChatError::NotFound(_) => {
            ValidationError::new("lorebook_id", "no such lorebook of yours").into()
        }
        other => other,
    })?;
    let me = actor.id;
    Ok(db::run(&ctx.db, move |c| {
        db::lorebooks::attach(c, conversation, id, me)?;
        db::lorebooks::attached(c, conversation)
    })
    .await?)
}

/// Detaches a book (the conversation's owner or admins, whoever attached it).
pub async fn detach(
    ctx: &ChatContext,
    actor: &Actor,
    conversation: ConversationId,
    id: LorebookId,
) -> Result<(), ChatError> {
    access::managed_conversation(ctx, conversation, actor.id).await?;
    match db::run(&ctx.db, move |c| db::lorebooks::detach(c, conversation, id)).await {
        Ok(()) => Ok(()),
        Err(db::DbError::NotFound) => Err(ChatError::NotFound(Resource::Lorebook)),
        Err(e) => Err(e.into()),
    }
}

/// The books attached to a conversation (members see which; the text stays its owner's).
pub async fn attached(
    ctx: &ChatContext,
    actor: &Actor,
    conversation: ConversationId,
) -> Result<Vec<LorebookRow>, ChatError> {
    access::member_conversation(ctx, conversation, actor.id).await?;
    Ok(db::run(&ctx.db, move |c| db::lorebooks::attached(c, conversation)).await?)
}

/// A card's `character_book`, checked for import: it must be a V2 book. Its keys are not
/// validated as on save — an imported card is kept as it came, and a key that does not compile
/// simply never matches.
pub fn parse_card_book(value: &Value) -> Result<Lorebook, ChatError> {
    if !value.is_object() {
        return Err(ValidationError::new("character_book", "must be an object").into());
    }
    let book: Lorebook = serde_json::from_value(value.clone()).map_err(|e| {
        ChatError::from(ValidationError::new(
            "character_book",
            format!("is not a Character Card V2 book: {e}"),
        ))
    })?;
    if book.entries.len() > domain::lorebook::MAX_ENTRIES {
        return Err(ValidationError {
            limit: Some(domain::lorebook::MAX_ENTRIES as u64),
            ..ValidationError::new("character_book", "too many entries")
        }
        .into());
    }
    Ok(book)
}

/// Binds an imported book to its character, inside the caller's transaction. The card's own JSON
/// is stored (not a re-encoding), so its key order survives until someone edits the book.
pub fn bind_card_book(
    c: &mut db::DbConn,
    actor: &Actor,
    character: CharacterId,
    card_name: &str,
    book: &Lorebook,
    raw: &Value,
) -> Result<LorebookRow, db::DbError> {
    let text = raw.to_string();
    let name = book
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("{card_name} (lorebook)"));
    let name: String = name.chars().take(200).collect();
    db::lorebooks::put_for_character(c, actor.id, character, &name, &text)
}

/// The book bound to a character, for export: `None` when it has none.
pub fn character_book(
    c: &mut db::DbConn,
    character: CharacterId,
) -> Result<Option<Value>, db::DbError> {
    Ok(db::lorebooks::find_for_character(c, character)?
        .and_then(|row| serde_json::from_str::<Value>(&row.book).ok()))
}
