//! Reactions on messages (issue 19): `PUT`/`DELETE …/messages/{message_id}/reactions/{emoji}`.
//! The emoji travels percent-encoded in the path; both answer with the message's reactions.

use actix_web::web;
use chat::Actor;
use domain::reactions::ReactionCount;
use domain::{ConversationId, MessageId};
use platform::{ApiError, AuthUser};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReactionsResponse {
    #[schema(value_type = i64)]
    pub message_id: MessageId,
    /// The message's reactions after the change, most chosen first; `mine` is yours.
    pub reactions: Vec<ReactionCount>,
}

fn parts(path: (i64, i64, String)) -> (ConversationId, MessageId, String) {
    (ConversationId(path.0), MessageId(path.1), path.2)
}

#[utoipa::path(put, path = "/api/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path), ("emoji" = String, Path, description = "one emoji (percent-encoded) or a :name:")),
    responses((status = 200, body = ReactionsResponse, description = "added (adding twice changes nothing)"),
              (status = 403, description = "a block stops contact in this DM"), (status = 404),
              (status = 409, description = "the message is deleted or has 20 different reactions"), (status = 422), (status = 429)))]
pub async fn add_reaction(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64, String)>,
) -> Result<web::Json<ReactionsResponse>, ApiError> {
    let (conversation, message, emoji) = parts(path.into_inner());
    let reactions = chat::reactions::add(
        &state.chat(),
        &Actor::from(&user),
        conversation,
        message,
        &emoji,
    )
    .await?;
    Ok(web::Json(ReactionsResponse {
        message_id: message,
        reactions,
    }))
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}/messages/{message_id}/reactions/{emoji}", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path), ("emoji" = String, Path, description = "one emoji (percent-encoded) or a :name:")),
    responses((status = 200, body = ReactionsResponse, description = "removed (removing what is not there changes nothing)"),
              (status = 404), (status = 422)))]
pub async fn remove_reaction(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64, String)>,
) -> Result<web::Json<ReactionsResponse>, ApiError> {
    let (conversation, message, emoji) = parts(path.into_inner());
    let reactions = chat::reactions::remove(
        &state.chat(),
        &Actor::from(&user),
        conversation,
        message,
        &emoji,
    )
    .await?;
    Ok(web::Json(ReactionsResponse {
        message_id: message,
        reactions,
    }))
}
