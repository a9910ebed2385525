//! A user's chat records: their conversations, and the messages of one of them.

use actix_web::{web, HttpRequest};
use chrono::{DateTime, Utc};
use db::conversations::ConversationSummary;
use domain::events::MessageView;
use domain::{ConversationId, MessageId, UserId};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{admin, page_bounds, path_id, query, utc};
use crate::state::AppState;

/// One of the user's conversations.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminConversationView {
    pub id: i64,
    /// `ai_chat`, `direct`, `group` or `channel`.
    pub kind: String,
    pub title: String,
    pub character_id: Option<i64>,
    pub server_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// The user's role in it.
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub last_message_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<Object>)]
    pub last_message: Option<MessageView>,
}

impl AdminConversationView {
    fn new(s: &ConversationSummary) -> Self {
        let c = &s.conversation;
        Self {
            id: c.id.0,
            kind: c.kind.as_str().to_owned(),
            title: c.title.clone(),
            character_id: c.character_id.map(|v| v.0),
            server_id: c.server_id.map(|v| v.0),
            owner_id: c.owner_id.map(|v| v.0),
            role: s.role.as_str().to_owned(),
            created_at: utc(c.created_at),
            last_message_at: c.last_message_at.map(utc),
            last_message: s.last_message.as_ref().map(|m| m.to_view(None)),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminConversationPage {
    pub items: Vec<AdminConversationView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    /// Messages before this id (older); without a cursor, the latest `limit`.
    pub before: Option<i64>,
    /// Messages after this id (newer).
    pub after: Option<i64>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Messages in ascending id order, deleted ones as tombstones.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminMessagePage {
    pub items: Vec<MessageView>,
    pub limit: i64,
    /// Pass as `before` for the previous (older) page.
    pub oldest_id: Option<i64>,
    /// Pass as `after` for the next (newer) page.
    pub newest_id: Option<i64>,
}

fn not_found(what: &'static str) -> impl Fn(db::DbError) -> ApiError {
    move |e| match e {
        db::DbError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}

#[utoipa::path(get, path = "/api/v1/admin/users/{id}/conversations", tag = "admin-records",
    security(("bearer" = [])), params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = AdminConversationPage), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn list_user_conversations(
    user: AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<AdminConversationPage>, ApiError> {
    admin(&user)?;
    let id = UserId(path_id(&req, "id")?);
    let q: PageQuery = query(&req)?;
    let (limit, offset) = page_bounds(q.limit, q.offset)?;
    let (summaries, total) = db::run(&state.db, move |c| {
        db::users::find(c, id)?;
        let summaries = db::conversations::list_for_user(
            c,
            id,
            db::conversations::ListSection::All,
            limit,
            offset,
        )?;
        let total = db::stats::conversation_count(c, id)?;
        Ok((summaries, total))
    })
    .await
    .map_err(not_found("user not found"))?;
    Ok(web::Json(AdminConversationPage {
        items: summaries.iter().map(AdminConversationView::new).collect(),
        total,
        limit,
        offset,
    }))
}

#[utoipa::path(get, path = "/api/v1/admin/users/{id}/conversations/{conversation_id}/messages",
    tag = "admin-records", security(("bearer" = [])),
    params(("id" = i64, Path), ("conversation_id" = i64, Path), MessagesQuery),
    responses((status = 200, body = AdminMessagePage), (status = 401), (status = 403),
              (status = 404, description = "no such user, or not a conversation of theirs"), (status = 422)))]
pub async fn list_user_messages(
    user: AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<AdminMessagePage>, ApiError> {
    admin(&user)?;
    let id = UserId(path_id(&req, "id")?);
    let conversation = ConversationId(path_id(&req, "conversation_id")?);
    let q: MessagesQuery = query(&req)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100"));
    }
    let (before, after) = (q.before.map(MessageId), q.after.map(MessageId));
    let items = db::run(&state.db, move |c| {
        // Members past and present: an admin reviewing a user sees conversations they left too.
        if db::members::find(c, conversation, id)?.is_none() {
            return Err(db::DbError::NotFound);
        }
        let rows = db::messages::list_page(c, conversation, before, after, limit, None)?;
        db::messages::views(c, &rows)
    })
    .await
    .map_err(not_found("conversation not found"))?;
    Ok(web::Json(AdminMessagePage {
        oldest_id: items.first().map(|m| m.id.0),
        newest_id: items.last().map(|m| m.id.0),
        items,
        limit,
    }))
}
