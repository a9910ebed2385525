//! Messages: sends (idempotent on the client id), AI replies (idempotent on the job id), history
//! pages, edits, soft deletes and search.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use domain::events::MessageView;
use domain::{
    CharacterId, ConversationId, MessageId, MessageRole, MessageStatus, MessageType, UserId,
};

use crate::schema::{characters, conversation_members, messages, users};
use crate::types::{contains_pattern, now, DbEnum, NullableId};
use crate::{clamp_page, conversations, on_backend, transaction, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    #[diesel(deserialize_as = i64)]
    pub id: MessageId,
    #[diesel(deserialize_as = i64)]
    pub conversation_id: ConversationId,
    /// The human who wrote it; `None` for AI replies and system messages.
    #[diesel(deserialize_as = NullableId<UserId>)]
    pub author_id: Option<UserId>,
    /// The character an AI reply speaks as.
    #[diesel(deserialize_as = NullableId<CharacterId>)]
    pub character_id: Option<CharacterId>,
    #[diesel(deserialize_as = DbEnum<MessageRole>)]
    pub role: MessageRole,
    #[diesel(deserialize_as = DbEnum<MessageType>)]
    pub message_type: MessageType,
    pub content: String,
    /// A JSON object (attachments, provider details), stored as text.
    pub metadata: String,
    #[diesel(deserialize_as = NullableId<MessageId>)]
    pub reply_to_id: Option<MessageId>,
    #[diesel(deserialize_as = DbEnum<MessageStatus>)]
    pub status: MessageStatus,
    pub job_id: Option<String>,
    pub client_id: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub model: Option<String>,
    pub created_at: NaiveDateTime,
    pub edited_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = NullableId<UserId>)]
    pub edited_by: Option<UserId>,
    pub deleted_at: Option<NaiveDateTime>,
    /// The turn this message follows (issue 15); `None` for a conversation's first turns.
    #[diesel(deserialize_as = NullableId<MessageId>)]
    pub parent_id: Option<MessageId>,
    /// On the active path: shown by default and followed by the worker's prompt.
    pub on_path: bool,
    /// An owner or admin wrote `@everyone` / `@here` (issue 19).
    pub mention_everyone: bool,
    /// The message this one replies to in a thread (issue 19); thread replies are off the path.
    #[diesel(deserialize_as = NullableId<MessageId>)]
    pub thread_root_id: Option<MessageId>,
}

impl MessageRow {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// The wire form; the author's username comes from a join the caller already did.
    pub fn to_view(&self, author_username: Option<String>) -> MessageView {
        MessageView {
            id: self.id,
            conversation_id: self.conversation_id,
            author_id: self.author_id,
            author_username,
            character_id: self.character_id,
            character_name: None,
            character_avatar_url: None,
            role: self.role,
            message_type: self.message_type,
            content: self.content.clone(),
            reply_to_id: self.reply_to_id,
            status: self.status,
            model: self.model.clone(),
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            client_id: self.client_id.clone(),
            job_id: self.job_id.clone(),
            created_at: self.created_at.and_utc(),
            edited_at: self.edited_at.map(|t| t.and_utc()),
            deleted_at: self.deleted_at.map(|t| t.and_utc()),
            parent_id: self.parent_id,
            fork: None,
            reactions: Vec::new(),
            mentions: Vec::new(),
            mention_everyone: self.mention_everyone,
            pinned: false,
            thread_root_id: self.thread_root_id,
            thread: None,
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = messages)]
pub struct NewMessageRow {
    #[diesel(serialize_as = i64)]
    pub conversation_id: ConversationId,
    #[diesel(serialize_as = NullableId<UserId>)]
    pub author_id: Option<UserId>,
    #[diesel(serialize_as = NullableId<CharacterId>)]
    pub character_id: Option<CharacterId>,
    #[diesel(serialize_as = DbEnum<MessageRole>)]
    pub role: MessageRole,
    #[diesel(serialize_as = DbEnum<MessageType>)]
    pub message_type: MessageType,
    pub content: String,
    pub metadata: String,
    #[diesel(serialize_as = NullableId<MessageId>)]
    pub reply_to_id: Option<MessageId>,
    #[diesel(serialize_as = DbEnum<MessageStatus>)]
    pub status: MessageStatus,
    pub job_id: Option<String>,
    pub client_id: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub model: Option<String>,
}

impl NewMessageRow {
    /// A complete text message written by `author`.
    pub fn user(conversation_id: ConversationId, author: UserId, content: &str) -> Self {
        Self {
            conversation_id,
            author_id: Some(author),
            character_id: None,
            role: MessageRole::User,
            message_type: MessageType::Text,
            content: content.to_owned(),
            metadata: "{}".to_owned(),
            reply_to_id: None,
            status: MessageStatus::Complete,
            job_id: None,
            client_id: None,
            prompt_tokens: None,
            completion_tokens: None,
            model: None,
        }
    }

    /// A system notice (someone joined, the title changed).
    pub fn system(conversation_id: ConversationId, content: &str) -> Self {
        Self {
            author_id: None,
            role: MessageRole::System,
            message_type: MessageType::System,
            ..Self::user(conversation_id, UserId(0), content)
        }
    }
}

/// The result of an idempotent send.
#[derive(Debug, Clone, PartialEq)]
pub struct Inserted {
    pub message: MessageRow,
    /// `false` when the client id had been used before and `message` is the stored original.
    pub created: bool,
}

/// The state of an AI reply, written as it streams and when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct AssistantReply {
    pub conversation_id: ConversationId,
    pub character_id: Option<CharacterId>,
    pub job_id: String,
    /// The message that triggered the reply.
    pub reply_to_id: Option<MessageId>,
    pub content: String,
    pub status: MessageStatus,
    pub model: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
}

/// Where [`search`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchScope {
    Conversation(ConversationId),
    /// Every conversation the user is an active member of.
    MemberOf(UserId),
}

/// Stores a message at the end of the active path (its parent is the path's last message) and
/// moves its conversation's `last_message_at`, in one transaction.
pub fn insert(conn: &mut DbConn, new: NewMessageRow) -> Result<MessageRow, DbError> {
    transaction(conn, |conn| {
        let parent = crate::tree::leaf(conn, new.conversation_id)?;
        insert_under(conn, new, parent, true)
    })
}

/// Stores a message under `parent` (`None`: a first turn), on the active path or beside it
/// (an alternate greeting, a copied branch), and moves `last_message_at`.
pub fn insert_under(
    conn: &mut DbConn,
    new: NewMessageRow,
    parent: Option<MessageId>,
    on_path: bool,
) -> Result<MessageRow, DbError> {
    transaction(conn, |conn| {
        let at = now();
        let message: MessageRow = diesel::insert_into(messages::table)
            .values((
                new,
                messages::created_at.eq(at),
                messages::parent_id.eq(parent.map(|p| p.0)),
                messages::on_path.eq(on_path),
            ))
            .get_result(conn)?;
        conversations::touch_last_message_at(conn, message.conversation_id, at)?;
        Ok(message)
    })
}

/// Stores a message unless the same author already sent this client id in this conversation,
/// in which case the stored message is returned with `created: false` — so a client retrying
/// after a lost ack never creates a duplicate. Without an author and a client id it is a plain
/// [`insert`].
pub fn insert_idempotent(conn: &mut DbConn, new: NewMessageRow) -> Result<Inserted, DbError> {
    insert_idempotent_in(conn, new, None)
}

/// [`insert_idempotent`], in the thread under `thread_root` when given: a thread reply has no
/// parent and is off the active path, so the main timeline, the conversation tree and the AI's
/// prompt never see it (issue 19).
pub fn insert_idempotent_in(
    conn: &mut DbConn,
    new: NewMessageRow,
    thread_root: Option<MessageId>,
) -> Result<Inserted, DbError> {
    let (Some(author), Some(client_id)) = (new.author_id, new.client_id.clone()) else {
        return transaction(conn, |conn| {
            let Some(root) = thread_root else {
                return insert(conn, new);
            };
            let mut message = insert_under(conn, new, None, false)?;
            diesel::update(messages::table.find(message.id.0))
                .set(messages::thread_root_id.eq(root.0))
                .execute(conn)?;
            message.thread_root_id = Some(root);
            Ok(message)
        })
        .map(|message| Inserted {
            message,
            created: true,
        });
    };
    let conversation = new.conversation_id;
    transaction(conn, |conn| {
        let at = now();
        let (parent, on_path) = match thread_root {
            Some(_) => (None, false),
            None => (crate::tree::leaf(conn, conversation)?.map(|p| p.0), true),
        };
        let root = thread_root.map(|r| r.0);
        let created: Option<MessageRow> =
            on_backend!(conn, |c| diesel::insert_into(messages::table)
                .values((
                    new,
                    messages::created_at.eq(at),
                    messages::parent_id.eq(parent),
                    messages::on_path.eq(on_path),
                    messages::thread_root_id.eq(root),
                ))
                .on_conflict((
                    messages::conversation_id,
                    messages::author_id,
                    messages::client_id,
                ))
                .do_nothing()
                .get_result(c)
                .optional())?;
        if let Some(message) = created {
            conversations::touch_last_message_at(conn, conversation, at)?;
            return Ok(Inserted {
                message,
                created: true,
            });
        }
        let message = messages::table
            .filter(messages::conversation_id.eq(conversation.0))
            .filter(messages::author_id.eq(author.0))
            .filter(messages::client_id.eq(&client_id))
            .select(MessageRow::as_select())
            .first(conn)?;
        Ok(Inserted {
            message,
            created: false,
        })
    })
}

pub fn find(conn: &mut DbConn, id: MessageId) -> Result<MessageRow, DbError> {
    Ok(messages::table
        .find(id.0)
        .select(MessageRow::as_select())
        .first(conn)?)
}

pub fn find_by_job_id(conn: &mut DbConn, job_id: &str) -> Result<Option<MessageRow>, DbError> {
    Ok(messages::table
        .filter(messages::job_id.eq(job_id))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of the active path in ascending id order, deleted messages included as tombstones.
///
/// `after` pages forward (the `limit` messages right after it), `before` pages backward (the
/// `limit` messages right before it), both bound a window from `after`, neither gives the latest
/// `limit` messages. Ids are the cursor: they only grow, so pages never overlap or skip.
///
/// `viewer`: whose eyes the page is for — messages by people they blocked are left out (the
/// one block filter, [`crate::blocks::message_visible_to`]). `None` (the worker, moderators)
/// reads everything.
pub fn list_page(
    conn: &mut DbConn,
    conversation: ConversationId,
    before: Option<MessageId>,
    after: Option<MessageId>,
    limit: i64,
    viewer: Option<UserId>,
) -> Result<Vec<MessageRow>, DbError> {
    let (limit, _) = clamp_page(limit, 0);
    let mut query = messages::table
        .filter(messages::conversation_id.eq(conversation.0))
        .filter(messages::on_path.eq(true))
        .select(MessageRow::as_select())
        .limit(limit)
        .into_boxed();
    if let Some(viewer) = viewer {
        query = query.filter(crate::blocks::message_visible_to(viewer.0));
    }
    if let Some(before) = before {
        query = query.filter(messages::id.lt(before.0));
    }
    if let Some(after) = after {
        return Ok(query
            .filter(messages::id.gt(after.0))
            .order(messages::id.asc())
            .load(conn)?);
    }
    let mut page: Vec<MessageRow> = query.order(messages::id.desc()).load(conn)?;
    page.reverse();
    Ok(page)
}

/// Replaces the text of a live message; a deleted message cannot be edited (`NotFound`).
pub fn edit(
    conn: &mut DbConn,
    id: MessageId,
    content: &str,
    editor: UserId,
) -> Result<MessageRow, DbError> {
    Ok(diesel::update(
        messages::table
            .find(id.0)
            .filter(messages::deleted_at.is_null()),
    )
    .set((
        messages::content.eq(content),
        messages::edited_at.eq(now()),
        messages::edited_by.eq(editor.0),
    ))
    .get_result(conn)?)
}

/// Empties the message and marks it deleted; the row stays so pages and replies keep their
/// place. Deleting twice returns the tombstone unchanged.
pub fn soft_delete(conn: &mut DbConn, id: MessageId) -> Result<MessageRow, DbError> {
    let deleted: Option<MessageRow> = diesel::update(
        messages::table
            .find(id.0)
            .filter(messages::deleted_at.is_null()),
    )
    .set((
        messages::content.eq(""),
        messages::metadata.eq("{}"),
        messages::deleted_at.eq(now()),
    ))
    .get_result(conn)
    .optional()?;
    match deleted {
        Some(row) => Ok(row),
        None => find(conn, id),
    }
}

/// Writes an AI reply keyed by its job id: the first call creates the message, later calls
/// (more tokens, completion, a retry after a worker died) update that same row. Completing twice
/// never creates a second message.
pub fn upsert_assistant_reply(
    conn: &mut DbConn,
    reply: AssistantReply,
) -> Result<MessageRow, DbError> {
    let changes = (
        messages::content.eq(reply.content.clone()),
        messages::status.eq(reply.status.as_str()),
        messages::model.eq(reply.model.clone()),
        messages::prompt_tokens.eq(reply.prompt_tokens),
        messages::completion_tokens.eq(reply.completion_tokens),
    );
    // The common case (every delta after the first) is a plain update.
    let updated: Option<MessageRow> =
        diesel::update(messages::table.filter(messages::job_id.eq(&reply.job_id)))
            .set(changes.clone())
            .get_result(conn)
            .optional()?;
    if let Some(row) = updated {
        return Ok(row);
    }
    transaction(conn, |conn| {
        let at = now();
        let new = NewMessageRow {
            conversation_id: reply.conversation_id,
            author_id: None,
            character_id: reply.character_id,
            role: MessageRole::Assistant,
            message_type: MessageType::Text,
            content: reply.content,
            metadata: "{}".to_owned(),
            reply_to_id: reply.reply_to_id,
            status: reply.status,
            job_id: Some(reply.job_id),
            client_id: None,
            prompt_tokens: reply.prompt_tokens,
            completion_tokens: reply.completion_tokens,
            model: reply.model,
        };
        // Another worker may have inserted between our update and insert: fold into its row.
        // A reply follows the message it answers; its variants (regenerate) are its siblings.
        let parent = reply.reply_to_id.map(|p| p.0);
        let row: MessageRow = on_backend!(conn, |c| diesel::insert_into(messages::table)
            .values((
                new,
                messages::created_at.eq(at),
                messages::parent_id.eq(parent),
                messages::on_path.eq(true),
            ))
            .on_conflict(messages::job_id)
            .do_update()
            .set((
                messages::content.eq(excluded(messages::content)),
                messages::status.eq(excluded(messages::status)),
                messages::model.eq(excluded(messages::model)),
                messages::prompt_tokens.eq(excluded(messages::prompt_tokens)),
                messages::completion_tokens.eq(excluded(messages::completion_tokens)),
            ))
            .get_result(c))?;
        conversations::touch_last_message_at(conn, row.conversation_id, row.created_at)?;
        Ok(row)
    })
}

/// Hands a finished AI reply to a new job (continue, issue 15): the row takes the job's id and
/// becomes `streaming`, so the worker's writes keyed by the job id land on it. Returns false
/// when the reply is deleted or already streaming (nothing changed).
pub fn claim_for_job(conn: &mut DbConn, id: MessageId, job_id: &str) -> Result<bool, DbError> {
    let n = diesel::update(
        messages::table
            .find(id.0)
            .filter(messages::deleted_at.is_null())
            .filter(messages::status.ne(MessageStatus::Streaming.as_str())),
    )
    .set((
        messages::job_id.eq(job_id),
        messages::status.eq(MessageStatus::Streaming.as_str()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn set_status(
    conn: &mut DbConn,
    id: MessageId,
    status: MessageStatus,
) -> Result<MessageRow, DbError> {
    Ok(diesel::update(messages::table.find(id.0))
        .set(messages::status.eq(status.as_str()))
        .get_result(conn)?)
}

/// The newest AI reply of the active path that is not deleted (for stop and continue).
pub fn last_assistant_message(
    conn: &mut DbConn,
    conversation: ConversationId,
) -> Result<Option<MessageRow>, DbError> {
    Ok(messages::table
        .filter(messages::conversation_id.eq(conversation.0))
        .filter(messages::on_path.eq(true))
        .filter(messages::role.eq(MessageRole::Assistant.as_str()))
        .filter(messages::deleted_at.is_null())
        .order(messages::id.desc())
        .select(MessageRow::as_select())
        .first(conn)
        .optional()?)
}

/// The last `limit` messages of the active path worth showing a model, oldest first: other
/// branches and variants, deleted messages, failed replies and replies still streaming are left
/// out.
pub fn history(
    conn: &mut DbConn,
    conversation: ConversationId,
    limit: i64,
) -> Result<Vec<MessageRow>, DbError> {
    let (limit, _) = clamp_page(limit, 0);
    let mut rows: Vec<MessageRow> = messages::table
        .filter(messages::conversation_id.eq(conversation.0))
        .filter(messages::on_path.eq(true))
        .filter(messages::deleted_at.is_null())
        .filter(messages::status.ne_all([
            MessageStatus::Failed.as_str(),
            MessageStatus::Streaming.as_str(),
        ]))
        .order(messages::id.desc())
        .limit(limit)
        .select(MessageRow::as_select())
        .load(conn)?;
    rows.reverse();
    Ok(rows)
}

/// Live messages containing `query` (case-insensitive), newest first.
pub fn search(
    conn: &mut DbConn,
    scope: SearchScope,
    viewer: UserId,
    query: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<MessageRow>, DbError> {
    let (limit, offset) = clamp_page(limit, offset);
    let pattern = contains_pattern(query);
    // The one place search differs per backend: PostgreSQL's LIKE is case-sensitive.
    macro_rules! page {
        ($backend:ty, $like:ident) => {{
            let q = messages::table
                .filter(messages::content.$like(pattern).escape('\\'))
                .filter(messages::deleted_at.is_null())
                .filter(crate::blocks::message_visible_to(viewer.0))
                .order(messages::id.desc())
                .limit(limit)
                .offset(offset)
                .select(MessageRow::as_select())
                .into_boxed::<$backend>();
            match scope {
                SearchScope::Conversation(id) => q.filter(messages::conversation_id.eq(id.0)),
                SearchScope::MemberOf(user) => q.filter(
                    messages::conversation_id.eq_any(
                        conversation_members::table
                            .filter(conversation_members::user_id.eq(user.0))
                            .filter(conversation_members::left_at.is_null())
                            .select(conversation_members::conversation_id),
                    ),
                ),
            }
        }};
    }
    Ok(match conn {
        DbConn::Postgres(c) => page!(diesel::pg::Pg, ilike).load(c)?,
        DbConn::Sqlite(c) => page!(diesel::sqlite::Sqlite, like).load(c)?,
    })
}

/// Fills in what other tables know about `views` (issue 19): reactions (with `mine` for
/// `viewer`; `None` for views every member shares, such as events), mentions, pins and thread
/// summaries (unread counts for `viewer`). A few queries for the whole page.
pub fn annotate(
    conn: &mut DbConn,
    views: &mut [MessageView],
    viewer: Option<UserId>,
) -> Result<(), DbError> {
    let ids: Vec<MessageId> = views.iter().map(|v| v.id).collect();
    let mut reactions = crate::reactions::summaries(conn, &ids, viewer)?;
    let mut mentions = crate::mentions::of(conn, &ids)?;
    let pinned = crate::pins::pinned_among(conn, &ids)?;
    let roots: Vec<MessageId> = views
        .iter()
        .filter(|v| v.thread_root_id.is_none())
        .map(|v| v.id)
        .collect();
    let mut threads = crate::threads::summaries(conn, &roots, viewer)?;
    for view in views.iter_mut() {
        view.thread = threads.remove(&view.id);
        view.reactions = reactions.remove(&view.id).unwrap_or_default();
        view.mentions = mentions.remove(&view.id).unwrap_or_default();
        view.pinned = pinned.contains(&view.id);
    }
    Ok(())
}

/// Wire forms of `rows` with their authors' usernames and their AI characters' names and
/// pictures, in at most two extra queries.
pub fn views(conn: &mut DbConn, rows: &[MessageRow]) -> Result<Vec<MessageView>, DbError> {
    let mut author_ids: Vec<i64> = rows
        .iter()
        .filter_map(|m| m.author_id.map(|a| a.0))
        .collect();
    author_ids.sort_unstable();
    author_ids.dedup();
    let names: HashMap<i64, String> = if author_ids.is_empty() {
        HashMap::new()
    } else {
        users::table
            .filter(users::id.eq_any(&author_ids))
            .select((users::id, users::username))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect()
    };
    let mut character_ids: Vec<i64> = rows
        .iter()
        .filter_map(|m| m.character_id.map(|c| c.0))
        .collect();
    character_ids.sort_unstable();
    character_ids.dedup();
    let characters: HashMap<i64, (String, Option<String>)> = if character_ids.is_empty() {
        HashMap::new()
    } else {
        characters::table
            .filter(characters::id.eq_any(&character_ids))
            .select((characters::id, characters::name, characters::avatar_url))
            .load::<(i64, String, Option<String>)>(conn)?
            .into_iter()
            .map(|(id, name, avatar)| (id, (name, avatar)))
            .collect()
    };
    Ok(rows
        .iter()
        .map(|m| {
            let mut view = m.to_view(m.author_id.and_then(|a| names.get(&a.0).cloned()));
            if let Some((name, avatar)) = m.character_id.and_then(|c| characters.get(&c.0)) {
                view.character_name = Some(name.clone());
                view.character_avatar_url = avatar.clone();
            }
            view
        })
        .collect())
}
