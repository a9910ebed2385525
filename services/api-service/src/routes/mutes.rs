//! Muting a conversation for oneself (issue 19).

use actix_web::{web, HttpResponse};
use chat::Actor;
use chrono::{DateTime, Utc};
use domain::ConversationId;
use platform::{ApiError, AuthUser};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MuteRequest {
    /// When the mute ends (RFC 3339, in the future); absent: until unmuted.
    pub until: Option<DateTime<Utc>>,
}

#[utoipa::path(put, path = "/api/v1/conversations/{id}/mute", tag = "notifications", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = MuteRequest,
    responses((status = 204, description = "muted: DMs while away, thread replies and @everyone stop reaching your inbox; a direct @mention still does"),
              (status = 404), (status = 422)))]
pub async fn mute_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<MuteRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    chat::mutes::mute(&state.chat(), &Actor::from(&user), id, body.until).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}/mute", tag = "notifications", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404)))]
pub async fn unmute_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    chat::mutes::unmute(&state.chat(), &Actor::from(&user), id).await?;
    Ok(HttpResponse::NoContent().finish())
}
