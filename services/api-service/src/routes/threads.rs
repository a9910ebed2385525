//! Threads under messages (issue 19): a thread's replies and the reader's marker in it. Replies
//! are sent like any message, with `thread_root_id` (`POST …/messages`).

use actix_web::{web, HttpResponse};
use chat::Actor;
use domain::events::MessageView;
use domain::{ConversationId, MessageId};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::state::AppState;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ThreadQuery {
    /// Replies newer than this id (the next page, or catching up).
    #[param(value_type = Option<i64>)]
    pub after: Option<MessageId>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadPage {
    /// The message the thread is under, with its `thread` summary (your unread count included).
    pub root: MessageView,
    /// Replies, oldest first.
    pub items: Vec<MessageView>,
    pub has_more: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkThreadReadRequest {
    /// The newest reply read.
    #[schema(value_type = i64)]
    pub message_id: MessageId,
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages/{message_id}/thread", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path), ThreadQuery),
    responses((status = 200, body = ThreadPage), (status = 404), (status = 422)))]
pub async fn get_thread(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    query: web::Query<ThreadQuery>,
) -> Result<web::Json<ThreadPage>, ApiError> {
    let (id, root) = path.into_inner();
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    let page = chat::threads::list(
        &state.chat(),
        &Actor::from(&user),
        ConversationId(id),
        MessageId(root),
        q.after,
        limit,
    )
    .await?;
    Ok(web::Json(ThreadPage {
        root: page.root,
        items: page.replies,
        has_more: page.has_more,
    }))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages/{message_id}/thread/read", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path)), request_body = MarkThreadReadRequest,
    responses((status = 204, description = "marker moved (never backwards); your other devices get `conversation.read`"),
              (status = 404), (status = 422)))]
pub async fn mark_thread_read(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: platform::http::Json<MarkThreadReadRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, root) = path.into_inner();
    chat::threads::mark_read(
        &state.chat(),
        &Actor::from(&user),
        ConversationId(id),
        MessageId(root),
        body.message_id,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
