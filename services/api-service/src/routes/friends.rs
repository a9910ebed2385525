//! Friends: requests (the addressee is notified in real time on their user channel), accept,
//! reject, cancel, unfriend. A block in either direction stops requests.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use db::friendships::FriendshipRow;
use domain::events::UserEvent;
use domain::{FriendshipId, FriendshipStatus, UserId, ValidationError};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::users::{utc, UserView};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct FriendRequestView {
    #[schema(value_type = i64)]
    pub id: FriendshipId,
    pub from: UserView,
    pub to: UserView,
    #[schema(value_type = String, example = "pending")]
    pub status: FriendshipStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FriendView {
    /// The friendship; use it with the request endpoints.
    #[schema(value_type = i64)]
    pub friendship_id: FriendshipId,
    pub user: UserView,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FriendRequestsView {
    pub incoming: Vec<FriendRequestView>,
    pub outgoing: Vec<FriendRequestView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FriendRequestBody {
    #[schema(value_type = i64)]
    pub user_id: UserId,
}

fn request_view(
    conn: &mut db::DbConn,
    row: &FriendshipRow,
) -> Result<FriendRequestView, db::DbError> {
    Ok(FriendRequestView {
        id: row.id,
        from: UserView::public(&db::users::find(conn, row.requester_id)?),
        to: UserView::public(&db::users::find(conn, row.addressee_id)?),
        status: row.status,
        created_at: utc(row.created_at),
    })
}

#[utoipa::path(get, path = "/api/v1/friends", tag = "friends", security(("bearer" = [])),
    responses((status = 200, body = [FriendView]), (status = 401)))]
pub async fn list_friends(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<FriendView>>, ApiError> {
    let me = user.id;
    let friends = db::run(&state.db, move |c| {
        let rows = db::friendships::list_accepted(c, me)?;
        rows.iter()
            .map(|row| {
                let other = if row.requester_id == me {
                    row.addressee_id
                } else {
                    row.requester_id
                };
                Ok(FriendView {
                    friendship_id: row.id,
                    user: UserView::public(&db::users::find(c, other)?),
                    since: utc(row.responded_at.unwrap_or(row.created_at)),
                })
            })
            .collect::<Result<Vec<_>, db::DbError>>()
    })
    .await?;
    Ok(web::Json(friends))
}

#[utoipa::path(get, path = "/api/v1/friends/requests", tag = "friends", security(("bearer" = [])),
    responses((status = 200, body = FriendRequestsView)))]
pub async fn list_requests(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<FriendRequestsView>, ApiError> {
    let me = user.id;
    let view = db::run(&state.db, move |c| {
        let incoming = db::friendships::list_incoming(c, me)?;
        let outgoing = db::friendships::list_outgoing(c, me)?;
        Ok(FriendRequestsView {
            incoming: incoming
                .iter()
                .map(|r| request_view(c, r))
                .collect::<Result<_, _>>()?,
            outgoing: outgoing
                .iter()
                .map(|r| request_view(c, r))
                .collect::<Result<_, _>>()?,
        })
    })
    .await?;
    Ok(web::Json(view))
}

#[utoipa::path(post, path = "/api/v1/friends/requests", tag = "friends", security(("bearer" = [])),
    request_body = FriendRequestBody,
    responses((status = 201, body = FriendRequestView), (status = 200, body = FriendRequestView, description = "they had asked you: now friends"),
              (status = 403), (status = 409), (status = 422)))]
pub async fn send_request(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<FriendRequestBody>,
) -> Result<HttpResponse, ApiError> {
    let (me, them) = (user.id, body.user_id);
    if me == them {
        return Err(ValidationError::new("user_id", "you cannot befriend yourself").into());
    }
    let outcome = db::run(&state.db, move |c| {
        if let Err(refused) = crate::routes::active_user(c, them)? {
            return Ok(Err(refused));
        }
        if db::blocks::is_blocked_either_way(c, me, them)? {
            return Ok(Err(ApiError::forbidden(
                "you cannot send this user a friend request",
            )));
        }
        db::transaction(c, |c| {
            match db::friendships::find_between(c, me, them)? {
                Some(row) if row.status == FriendshipStatus::Accepted => {
                    Ok(Err(ApiError::conflict("you are already friends")))
                }
                // They asked first: asking back accepts.
                Some(row) if row.status == FriendshipStatus::Pending && row.addressee_id == me => {
                    let accepted = db::friendships::accept(c, row.id, me)?;
                    Ok(Ok((request_view(c, &accepted)?, true)))
                }
                Some(row) if row.status == FriendshipStatus::Pending => {
                    Ok(Err(ApiError::conflict("a request is already pending")))
                }
                // A rejected request may be asked again.
                Some(row) => {
                    db::friendships::delete(c, row.id)?;
                    let created = db::friendships::request(c, me, them)?;
                    Ok(Ok((request_view(c, &created)?, false)))
                }
                None => {
                    let created = db::friendships::request(c, me, them)?;
                    Ok(Ok((request_view(c, &created)?, false)))
                }
            }
        })
    })
    .await??;
    let (view, accepted) = outcome;
    let event = if accepted {
        UserEvent::FriendAccepted {
            user_id: me,
            username: user.username.clone(),
        }
    } else {
        UserEvent::FriendRequest {
            from_user_id: me,
            from_username: user.username.clone(),
        }
    };
    // Real-time notice; the request itself is stored, so a missed notice loses nothing.
    let _ = state.bus.publish_user(them, &event).await;
    if !accepted {
        // Into their inbox too (issue 19); the request is stored, so this is best effort.
        if let Err(e) = chat::notifications::on_friend_request(&state.chat(), me, them).await {
            tracing::warn!(error = %e, "friend request notification not stored");
        }
    }
    Ok(if accepted {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Created().json(view)
    })
}

/// The request `id` if `me` is one side of it; otherwise 404.
async fn my_request(
    state: &AppState,
    id: FriendshipId,
    me: UserId,
) -> Result<FriendshipRow, ApiError> {
    let row = db::run(&state.db, move |c| db::friendships::find(c, id)).await?;
    if row.requester_id != me && row.addressee_id != me {
        return Err(ApiError::not_found("friend request not found"));
    }
    Ok(row)
}

async fn respond(
    state: &AppState,
    user: &AuthUser,
    id: FriendshipId,
    accept: bool,
) -> Result<HttpResponse, ApiError> {
    let row = my_request(state, id, user.id).await?;
    if row.addressee_id != user.id {
        return Err(ApiError::forbidden(
            "only the addressee may answer a request",
        ));
    }
    if row.status != FriendshipStatus::Pending {
        return Err(ApiError::conflict("this request was already answered"));
    }
    let me = user.id;
    let view = db::run(&state.db, move |c| {
        let row = if accept {
            db::friendships::accept(c, id, me)?
        } else {
            db::friendships::reject(c, id, me)?
        };
        request_view(c, &row)
    })
    .await?;
    if accept {
        let event = UserEvent::FriendAccepted {
            user_id: me,
            username: user.username.clone(),
        };
        let _ = state.bus.publish_user(row.requester_id, &event).await;
    }
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(post, path = "/api/v1/friends/requests/{id}/accept", tag = "friends", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = FriendRequestView), (status = 403), (status = 404), (status = 409)))]
pub async fn accept_request(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    respond(&state, &user, FriendshipId(path.into_inner()), true).await
}

#[utoipa::path(post, path = "/api/v1/friends/requests/{id}/reject", tag = "friends", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = FriendRequestView), (status = 403), (status = 404), (status = 409)))]
pub async fn reject_request(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    respond(&state, &user, FriendshipId(path.into_inner()), false).await
}

#[utoipa::path(delete, path = "/api/v1/friends/requests/{id}", tag = "friends", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn cancel_request(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = FriendshipId(path.into_inner());
    let row = my_request(&state, id, user.id).await?;
    if row.requester_id != user.id {
        return Err(ApiError::forbidden(
            "only the requester may cancel a request",
        ));
    }
    if row.status != FriendshipStatus::Pending {
        return Err(ApiError::conflict(
            "only a pending request can be cancelled",
        ));
    }
    db::run(&state.db, move |c| db::friendships::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/v1/friends/{user_id}", tag = "friends", security(("bearer" = [])),
    params(("user_id" = i64, Path)), responses((status = 204), (status = 404)))]
pub async fn unfriend(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (me, them) = (user.id, UserId(path.into_inner()));
    let removed = db::run(&state.db, move |c| {
        match db::friendships::find_between(c, me, them)? {
            Some(row) if row.status == FriendshipStatus::Accepted => {
                db::friendships::delete(c, row.id).map(|_| true)
            }
            _ => Ok(false),
        }
    })
    .await?;
    if !removed {
        return Err(ApiError::not_found("you are not friends with this user"));
    }
    Ok(HttpResponse::NoContent().finish())
}
