//! A conversation's chat settings, the persona the caller speaks as in it, and the context
//! report of a reply. Rules in `chat::chat_settings`, `chat::personas` and `chat::contexts`.

use actix_web::web;
use db::chat_settings::ChatSettings;
use domain::context::ContextReport;
use domain::{ConversationId, MessageId, PersonaId};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::double_option;
use crate::routes::personas::PersonaView;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatSettingsView {
    /// Inserted as a system message `author_note_depth` messages from the end, every
    /// `author_note_interval` user turns (1 = every turn, 0 = never).
    pub author_note: String,
    pub author_note_depth: i32,
    pub author_note_interval: i32,
    /// `provider/model`; `null` = the character's preference, else the deployment default.
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// `null` = the deployment's limit.
    pub max_tokens: Option<i32>,
    /// What may be chosen here: the models and the bounds the administrators set.
    pub allowed_models: Vec<String>,
    pub temperature_max: f64,
    pub max_tokens_limit: i32,
}

impl ChatSettingsView {
    fn new(s: ChatSettings, state: &AppState) -> Self {
        let bounds = chat::chat_settings::Bounds::from_settings(&state.settings);
        Self {
            author_note: s.author_note,
            author_note_depth: s.author_note_depth,
            author_note_interval: s.author_note_interval,
            model: s.model,
            temperature: s.temperature,
            top_p: s.top_p,
            max_tokens: s.max_tokens,
            allowed_models: bounds.models,
            temperature_max: bounds.temperature_max,
            max_tokens_limit: bounds.max_tokens,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChatSettingsRequest {
    /// Up to 5000 characters; empty = no note.
    pub author_note: Option<String>,
    /// 0–1000 (0 = after the newest message).
    pub author_note_depth: Option<i32>,
    /// 0–1000.
    pub author_note_interval: Option<i32>,
    /// One of `allowed_models`; `null` clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub model: Option<Option<String>>,
    /// 0 to `temperature_max`; `null` clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    pub temperature: Option<Option<f64>>,
    /// Above 0, at most 1; `null` clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    pub top_p: Option<Option<f64>>,
    /// 1 to `max_tokens_limit`; `null` clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i32>)]
    pub max_tokens: Option<Option<i32>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockPersonaRequest {
    /// One of your personas; `null` unlocks (your default applies).
    pub persona_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LockedPersonaView {
    /// The persona you are locked to here; `null` = your default applies.
    pub persona: Option<PersonaView>,
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/settings", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ChatSettingsView), (status = 404)))]
pub async fn get_chat_settings(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<ChatSettingsView>, ApiError> {
    let id = ConversationId(path.into_inner());
    let s = chat::chat_settings::get(&state.chat(), &chat::Actor::from(&user), id).await?;
    Ok(web::Json(ChatSettingsView::new(s, &state)))
}

#[utoipa::path(patch, path = "/api/v1/conversations/{id}/settings", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = UpdateChatSettingsRequest,
    responses((status = 200, body = ChatSettingsView), (status = 403), (status = 404), (status = 422)))]
pub async fn update_chat_settings(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<UpdateChatSettingsRequest>,
) -> Result<web::Json<ChatSettingsView>, ApiError> {
    let id = ConversationId(path.into_inner());
    let b = body.into_inner();
    let edit = chat::chat_settings::SettingsEdit {
        author_note: b.author_note,
        author_note_depth: b.author_note_depth,
        author_note_interval: b.author_note_interval,
        model: b.model,
        temperature: b.temperature,
        top_p: b.top_p,
        max_tokens: b.max_tokens,
    };
    let s = chat::chat_settings::update(&state.chat(), &chat::Actor::from(&user), id, edit).await?;
    Ok(web::Json(ChatSettingsView::new(s, &state)))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/persona", tag = "personas", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = LockedPersonaView), (status = 404)))]
pub async fn get_conversation_persona(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<LockedPersonaView>, ApiError> {
    let id = ConversationId(path.into_inner());
    let row = chat::personas::locked(&state.chat(), &chat::Actor::from(&user), id).await?;
    Ok(web::Json(LockedPersonaView {
        persona: row.as_ref().map(PersonaView::from),
    }))
}

#[utoipa::path(put, path = "/api/v1/conversations/{id}/persona", tag = "personas", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = LockPersonaRequest,
    responses((status = 200, body = LockedPersonaView), (status = 404), (status = 422)))]
pub async fn lock_conversation_persona(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<LockPersonaRequest>,
) -> Result<web::Json<LockedPersonaView>, ApiError> {
    let id = ConversationId(path.into_inner());
    let persona = body.into_inner().persona_id.map(PersonaId);
    let row = chat::personas::lock(&state.chat(), &chat::Actor::from(&user), id, persona).await?;
    Ok(web::Json(LockedPersonaView {
        persona: row.as_ref().map(PersonaView::from),
    }))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages/{message_id}/context", tag = "messages",
    security(("bearer" = [])), params(("id" = i64, Path), ("message_id" = i64, Path)),
    responses((status = 200, body = ContextReport), (status = 403), (status = 404)))]
pub async fn get_message_context(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<ContextReport>, ApiError> {
    let (id, message) = path.into_inner();
    let report = chat::contexts::get(
        &state.chat(),
        &chat::Actor::from(&user),
        ConversationId(id),
        MessageId(message),
    )
    .await?;
    Ok(web::Json(report))
}
