//! Blocks: a block hides — no DM, no friend request, the blocked user's messages are not
//! delivered to the blocker (filtered on fan-out by the gateway) and presence is not shown.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::{UserId, ValidationError};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::users::{utc, UserView};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    pub user: UserView,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    #[schema(value_type = i64)]
    pub user_id: UserId,
}

#[utoipa::path(get, path = "/api/v1/blocks", tag = "blocks", security(("bearer" = [])),
    responses((status = 200, body = [BlockView]), (status = 401)))]
pub async fn list_blocks(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<BlockView>>, ApiError> {
    let me = user.id;
    let blocks = db::run(&state.db, move |c| {
        db::blocks::list(c, me)?
            .iter()
            .map(|b| {
                Ok(BlockView {
                    user: UserView::public(&db::users::find(c, b.blocked_id)?),
                    created_at: utc(b.created_at),
                })
            })
            .collect::<Result<Vec<_>, db::DbError>>()
    })
    .await?;
    Ok(web::Json(blocks))
}

#[utoipa::path(post, path = "/api/v1/blocks", tag = "blocks", security(("bearer" = [])),
    request_body = BlockRequest, responses((status = 204), (status = 422)))]
pub async fn block_user(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<BlockRequest>,
) -> Result<HttpResponse, ApiError> {
    let (me, them) = (user.id, body.user_id);
    if me == them {
        return Err(ValidationError::new("user_id", "you cannot block yourself").into());
    }
    db::run(&state.db, move |c| {
        db::users::find(c, them)?;
        db::transaction(c, |c| {
            // A block ends any friendship or pending request between the two.
            if let Some(row) = db::friendships::find_between(c, me, them)? {
                db::friendships::delete(c, row.id)?;
            }
            db::blocks::block(c, me, them)
        })
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ValidationError::new("user_id", "no such user").into(),
        other => ApiError::from(other),
    })?;
    announce_blocks(&state, me).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/v1/blocks/{user_id}", tag = "blocks", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 204), (status = 404)))]
pub async fn unblock_user(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (me, them) = (user.id, UserId(path.into_inner()));
    let removed = db::run(&state.db, move |c| db::blocks::unblock(c, me, them)).await?;
    if !removed {
        return Err(ApiError::not_found("you have not blocked this user"));
    }
    announce_blocks(&state, me).await;
    Ok(HttpResponse::NoContent().finish())
}

/// Tells the user's gateways the new block list, so the fan-out filter applies to open
/// subscriptions at once. The list is stored first; a lost notice only delays the filter until
/// the next subscribe.
async fn announce_blocks(state: &AppState, me: UserId) {
    if let Ok(blocked) = db::run(&state.db, move |c| db::blocks::blocked_by(c, me)).await {
        let event = domain::events::UserEvent::BlocksChanged { blocked };
        let _ = state.bus.publish_user(me, &event).await;
    }
}
