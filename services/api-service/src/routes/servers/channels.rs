//! A server's channels.

use actix_web::{web, HttpResponse};
use db::conversations::{ConversationChanges, ConversationRow};
use domain::{bounded_text_opt, ConversationId, ConversationKind, ServerId};
use platform::{ApiError, AuthUser};

use crate::routes::conversations::ConversationView;
use crate::state::AppState;

use super::common::*;

#[utoipa::path(get, path = "/api/v1/servers/{id}/channels", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = [ConversationView]), (status = 404)))]
pub async fn list_channels(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<ConversationView>>, ApiError> {
    let id = ServerId(path.into_inner());
    let (_, role) = load(&state, id, user.id).await?;
    let channels = db::run(&state.db, move |c| db::conversations::list_channels(c, id)).await?;
    Ok(web::Json(
        channels
            .iter()
            .map(|ch| ConversationView::new(ch, role))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/servers/{id}/channels", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ChannelRequest,
    responses((status = 201, body = ConversationView), (status = 403), (status = 404), (status = 422)))]
pub async fn create_channel(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<ChannelRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = ServerId(path.into_inner());
    let (_, role) = require(&state, id, user.id, MANAGERS).await?;
    let body = body.into_inner();
    let name = channel_name(body.name.as_deref().unwrap_or(""))?;
    let description =
        bounded_text_opt("description", body.description.as_deref(), 0, 1000)?.unwrap_or_default();
    let position = body.position.unwrap_or(0);
    let owner = user.id;
    let row = db::run(&state.db, move |c| {
        db::conversations::insert(c, new_channel(id, owner, name, description, position))
    })
    .await?;
    Ok(HttpResponse::Created().json(ConversationView::new(&row, Some(role))))
}

/// A channel of server `id`, or 404.
pub(super) async fn channel_of(
    state: &AppState,
    id: ServerId,
    channel: ConversationId,
) -> Result<ConversationRow, ApiError> {
    let row = db::run(&state.db, move |c| db::conversations::find(c, channel)).await?;
    if row.kind != ConversationKind::Channel || row.server_id != Some(id) {
        return Err(ApiError::not_found("channel not found"));
    }
    Ok(row)
}

#[utoipa::path(patch, path = "/api/v1/servers/{id}/channels/{channel_id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path), ("channel_id" = i64, Path)), request_body = ChannelRequest,
    responses((status = 200, body = ConversationView), (status = 403), (status = 404), (status = 422)))]
pub async fn update_channel(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: platform::http::Json<ChannelRequest>,
) -> Result<web::Json<ConversationView>, ApiError> {
    let (id, channel) = (ServerId(path.0), ConversationId(path.1));
    let (_, role) = require(&state, id, user.id, MANAGERS).await?;
    channel_of(&state, id, channel).await?;
    let body = body.into_inner();
    let changes = ConversationChanges {
        title: body.name.as_deref().map(channel_name).transpose()?,
        description: bounded_text_opt("description", body.description.as_deref(), 0, 1000)?,
        position: body.position,
        ..Default::default()
    };
    let row = db::run(&state.db, move |c| {
        db::conversations::update(c, channel, &changes)
    })
    .await?;
    Ok(web::Json(ConversationView::new(&row, Some(role))))
}

#[utoipa::path(delete, path = "/api/v1/servers/{id}/channels/{channel_id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path), ("channel_id" = i64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_channel(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, channel) = (ServerId(path.0), ConversationId(path.1));
    require(&state, id, user.id, MANAGERS).await?;
    channel_of(&state, id, channel).await?;
    db::run(&state.db, move |c| db::conversations::delete(c, channel)).await?;
    Ok(HttpResponse::NoContent().finish())
}
