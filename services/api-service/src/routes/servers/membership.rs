//! Joining (public or by invite), leaving, member lists, roles and removal.

use actix_web::{web, HttpResponse};
use db::servers::ServerRow;
use domain::events::{ConversationEvent, UserEvent};
use domain::{bounded_text, MemberRole, ServerId, UserId};
use platform::{ApiError, AuthUser};

use crate::routes::users::utc;
use crate::state::AppState;

use super::common::*;

pub(super) async fn admit(
    state: &AppState,
    server: &ServerRow,
    user: UserId,
) -> Result<(), ApiError> {
    let id = server.id;
    let channels = db::run(&state.db, move |c| {
        db::servers::add_member(c, id, user, MemberRole::Member)?;
        db::conversations::list_channels(c, id)
    })
    .await?;
    let ctx = state.chat();
    for channel in channels {
        chat::messages::publish(
            &ctx,
            channel.id,
            ConversationEvent::MemberJoined {
                user_id: user,
                role: MemberRole::Member,
            },
        )
        .await?;
        let _ = state
            .bus
            .publish_user(
                user,
                &UserEvent::ConversationAdded {
                    conversation_id: channel.id,
                },
            )
            .await;
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/servers/{id}/join", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404)))]
pub async fn join_server(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (server, role) = load(&state, ServerId(path.into_inner()), user.id).await?;
    if role.is_none() {
        admit(&state, &server, user.id).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/servers/join", tag = "servers", security(("bearer" = [])),
    request_body = JoinByInviteRequest, responses((status = 200, body = ServerView), (status = 404)))]
pub async fn join_by_invite(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<JoinByInviteRequest>,
) -> Result<web::Json<ServerView>, ApiError> {
    let code = bounded_text("invite_code", &body.invite_code, 1, 64)?;
    let server = db::run(&state.db, move |c| {
        db::servers::find_by_invite_code(c, &code)
    })
    .await?
    .ok_or_else(|| ApiError::not_found("no server has this invite code"))?;
    let (id, me) = (server.id, user.id);
    let existing = db::run(&state.db, move |c| db::servers::find_member(c, id, me)).await?;
    if existing.is_none() {
        admit(&state, &server, user.id).await?;
    }
    let role = existing.map(|m| m.role).unwrap_or(MemberRole::Member);
    Ok(web::Json(ServerView::new(&server, Some(role))))
}

pub(super) async fn depart(
    state: &AppState,
    server: ServerId,
    user: UserId,
) -> Result<(), ApiError> {
    let channels = db::run(&state.db, move |c| {
        db::servers::remove_member(c, server, user)?;
        db::conversations::list_channels(c, server)
    })
    .await?;
    let ctx = state.chat();
    for channel in channels {
        chat::messages::publish(
            &ctx,
            channel.id,
            ConversationEvent::MemberLeft { user_id: user },
        )
        .await?;
        let _ = state
            .bus
            .publish_user(
                user,
                &UserEvent::ConversationRemoved {
                    conversation_id: channel.id,
                },
            )
            .await;
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/servers/{id}/leave", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404), (status = 409, description = "the owner must transfer first")))]
pub async fn leave_server(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = ServerId(path.into_inner());
    let (_, role) = load(&state, id, user.id).await?;
    match role {
        None => return Err(ApiError::not_found("you are not a member of this server")),
        Some(MemberRole::Owner) => {
            return Err(ApiError::conflict("transfer ownership before leaving"))
        }
        Some(_) => {}
    }
    depart(&state, id, user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/servers/{id}/members", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = [ServerMemberView]), (status = 403), (status = 404)))]
pub async fn list_server_members(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<ServerMemberView>>, ApiError> {
    let id = ServerId(path.into_inner());
    require(&state, id, user.id, ANY_MEMBER).await?;
    let rows = db::run(&state.db, move |c| db::servers::list_members(c, id)).await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|(m, username)| ServerMemberView {
                user_id: m.user_id,
                username,
                role: m.role,
                joined_at: utc(m.joined_at),
            })
            .collect(),
    ))
}

#[utoipa::path(patch, path = "/api/v1/servers/{id}/members/{user_id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path), ("user_id" = i64, Path)), request_body = ServerRoleRequest,
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn change_server_role(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: platform::http::Json<ServerRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, target) = (ServerId(path.0), UserId(path.1));
    let (_, my_role) = require(&state, id, user.id, MANAGERS).await?;
    let (role, me) = (body.role, user.id);
    let current = db::run(&state.db, move |c| db::servers::find_member(c, id, target))
        .await?
        .map(|m| m.role)
        .ok_or_else(|| ApiError::not_found("no such member"))?;
    if target == user.id || !chat::roles::may_change_role(my_role, current, role) {
        return Err(ApiError::forbidden("you may not change this member's role"));
    }
    db::run(&state.db, move |c| {
        db::transaction(c, |c| {
            if role == MemberRole::Owner {
                db::servers::set_member_role(c, id, me, MemberRole::Admin)?;
                db::servers::set_owner(c, id, target)?;
            }
            db::servers::set_member_role(c, id, target, role)
        })
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ApiError::not_found("no such member"),
        other => ApiError::from(other),
    })?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/v1/servers/{id}/members/{user_id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path), ("user_id" = i64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn kick_member(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, target) = (ServerId(path.0), UserId(path.1));
    let (_, my_role) = require(&state, id, user.id, MANAGERS).await?;
    let target_role = db::run(&state.db, move |c| db::servers::find_member(c, id, target))
        .await?
        .map(|m| m.role)
        .ok_or_else(|| ApiError::not_found("no such member"))?;
    if target == user.id || !chat::roles::may_remove(my_role, target_role) {
        return Err(ApiError::forbidden("you may not remove this member"));
    }
    depart(&state, id, target).await?;
    Ok(HttpResponse::NoContent().finish())
}
