//! Pinned messages (issue 19): the list per conversation, pin and unpin.

use actix_web::{web, HttpResponse};
use chat::Actor;
use chrono::{DateTime, Utc};
use domain::events::MessageView;
use domain::{ConversationId, MessageId, UserId};
use platform::{ApiError, AuthUser};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PinView {
    pub message: MessageView,
    /// Who pinned it (absent once that account is gone).
    #[schema(value_type = Option<i64>)]
    pub pinned_by: Option<UserId>,
    pub pinned_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/pins", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<PinView>, description = "newest pin first"), (status = 404)))]
pub async fn list_pins(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<PinView>>, ApiError> {
    let id = ConversationId(path.into_inner());
    let pins = chat::pins::list(&state.chat(), &Actor::from(&user), id).await?;
    Ok(web::Json(
        pins.into_iter()
            .map(|p| PinView {
                message: p.message,
                pinned_by: p.pinned_by,
                pinned_at: p.pinned_at,
            })
            .collect(),
    ))
}

#[utoipa::path(put, path = "/api/v1/conversations/{id}/pins/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path)),
    responses((status = 204, description = "pinned (pinning twice changes nothing)"),
              (status = 403, description = "only the owner or an admin pins in a room"), (status = 404),
              (status = 409, description = "the message is deleted or the conversation has 50 pins")))]
pub async fn pin_message(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, message) = path.into_inner();
    chat::pins::pin(
        &state.chat(),
        &Actor::from(&user),
        ConversationId(id),
        MessageId(message),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}/pins/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path)),
    responses((status = 204, description = "unpinned (or was not pinned)"), (status = 403), (status = 404)))]
pub async fn unpin_message(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, message) = path.into_inner();
    chat::pins::unpin(
        &state.chat(),
        &Actor::from(&user),
        ConversationId(id),
        MessageId(message),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
