//! Per-conversation chat settings (Author's Note, model, sampling) and the persona each member
//! speaks as in a conversation.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{ConversationId, PersonaId, UserId};

use crate::schema::{conversation_personas, conversation_settings};
use crate::types::now;
use crate::{DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = conversation_settings)]
pub struct ChatSettingsRow {
    #[diesel(deserialize_as = i64)]
    pub conversation_id: ConversationId,
    pub author_note: String,
    pub author_note_depth: i32,
    pub author_note_interval: i32,
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<i32>,
    pub updated_by: Option<i64>,
    pub updated_at: NaiveDateTime,
}

/// The settings to store, whole (the use case merges a partial update into the current ones).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatSettings {
    pub author_note: String,
    pub author_note_depth: i32,
    pub author_note_interval: i32,
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub max_tokens: Option<i32>,
}

impl Default for ChatSettings {
    /// SillyTavern's defaults: depth 4, every turn; the deployment's model and sampling.
    fn default() -> Self {
        Self {
            author_note: String::new(),
            author_note_depth: 4,
            author_note_interval: 1,
            model: None,
            temperature: None,
            top_p: None,
            max_tokens: None,
        }
    }
}

impl From<ChatSettingsRow> for ChatSettings {
    fn from(r: ChatSettingsRow) -> Self {
        Self {
            author_note: r.author_note,
            author_note_depth: r.author_note_depth,
            author_note_interval: r.author_note_interval,
            model: r.model,
            temperature: r.temperature,
            top_p: r.top_p,
            max_tokens: r.max_tokens,
        }
    }
}

pub fn find(
    conn: &mut DbConn,
    conversation: ConversationId,
) -> Result<Option<ChatSettingsRow>, DbError> {
    Ok(conversation_settings::table
        .find(conversation.0)
        .select(ChatSettingsRow::as_select())
        .first(conn)
        .optional()?)
}

/// Stores the settings of a conversation (insert or replace).
pub fn put(
    conn: &mut DbConn,
    conversation: ConversationId,
    by: UserId,
    s: &ChatSettings,
) -> Result<ChatSettingsRow, DbError> {
    let values = (
        conversation_settings::author_note.eq(&s.author_note),
        conversation_settings::author_note_depth.eq(s.author_note_depth),
        conversation_settings::author_note_interval.eq(s.author_note_interval),
        conversation_settings::model.eq(s.model.as_deref()),
        conversation_settings::temperature.eq(s.temperature),
        conversation_settings::top_p.eq(s.top_p),
        conversation_settings::max_tokens.eq(s.max_tokens),
        conversation_settings::updated_by.eq(Some(by.0)),
        conversation_settings::updated_at.eq(now()),
    );
    crate::transaction(conn, |c| {
        let updated = diesel::update(conversation_settings::table.find(conversation.0))
            .set(values)
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(conversation_settings::table)
                .values((
                    conversation_settings::conversation_id.eq(conversation.0),
                    values,
                ))
                .execute(c)?;
        }
        find(c, conversation)?.ok_or(DbError::NotFound)
    })
}

/// The persona `user` is locked to in a conversation.
pub fn locked_persona(
    conn: &mut DbConn,
    conversation: ConversationId,
    user: UserId,
) -> Result<Option<PersonaId>, DbError> {
    Ok(conversation_personas::table
        .find((conversation.0, user.0))
        .select(conversation_personas::persona_id)
        .first::<i64>(conn)
        .optional()?
        .map(PersonaId))
}

/// Locks `user` to a persona in a conversation (`None` unlocks: the default applies again).
pub fn lock_persona(
    conn: &mut DbConn,
    conversation: ConversationId,
    user: UserId,
    persona: Option<PersonaId>,
) -> Result<(), DbError> {
    crate::transaction(conn, |c| {
        diesel::delete(conversation_personas::table.find((conversation.0, user.0))).execute(c)?;
        if let Some(p) = persona {
            diesel::insert_into(conversation_personas::table)
                .values((
                    conversation_personas::conversation_id.eq(conversation.0),
                    conversation_personas::user_id.eq(user.0),
                    conversation_personas::persona_id.eq(p.0),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}
