//! Discord-style servers: the creator owns the server and a `general` channel is made; members
//! join public servers or by invite code; channels are conversations of kind `channel` whose
//! membership follows the server's. Owner/admin manage channels; only the owner edits or deletes
//! the server, and the owner cannot leave without transferring.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use db::conversations::{ConversationChanges, ConversationRow, NewConversationRow};
use db::servers::{NewServerRow, ServerChanges, ServerRow};
use domain::events::{ConversationEvent, UserEvent};
use domain::{
    bounded_text, bounded_text_opt, ConversationId, ConversationKind, HttpUrl, MemberRole,
    ServerId, UserId, ValidationError, Visibility,
};
use platform::{ApiError, AuthUser};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::conversations::ConversationView;
use crate::routes::{double_option, users::utc, Page};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ServerView {
    #[schema(value_type = i64)]
    pub id: ServerId,
    #[schema(value_type = i64)]
    pub owner_id: UserId,
    pub name: String,
    pub description: String,
    #[schema(value_type = String)]
    pub visibility: Visibility,
    /// Shown to members only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_code: Option<String>,
    pub icon_url: Option<String>,
    #[schema(value_type = Option<String>)]
    pub role: Option<MemberRole>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<ConversationView>>,
    pub created_at: DateTime<Utc>,
}

impl ServerView {
    fn new(row: &ServerRow, role: Option<MemberRole>) -> Self {
        Self {
            id: row.id,
            owner_id: row.owner_id,
            name: row.name.clone(),
            description: row.description.clone(),
            visibility: row.visibility,
            invite_code: role.map(|_| row.invite_code.clone()),
            icon_url: row.icon_url.clone(),
            role,
            channels: None,
            created_at: utc(row.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServerMemberView {
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub username: String,
    #[schema(value_type = String)]
    pub role: MemberRole,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServerRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[schema(value_type = Option<String>)]
    pub visibility: Option<Visibility>,
    pub icon_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateServerRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<String>)]
    pub visibility: Option<Visibility>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub icon_url: Option<Option<String>>,
    /// A new invite code; the old link stops working.
    #[serde(default)]
    pub rotate_invite_code: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinByInviteRequest {
    pub invite_code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub position: Option<i32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerRoleRequest {
    /// `admin` or `member`; `owner` transfers ownership (the old owner becomes admin).
    #[schema(value_type = String)]
    pub role: MemberRole,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ServerListQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn invite_code() -> String {
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Channel names: lower-case words joined by `-`, like `general` or `off-topic`.
fn channel_name(raw: &str) -> Result<String, ValidationError> {
    let name = bounded_text("name", raw, 1, 64)?
        .to_lowercase()
        .replace(' ', "-");
    if name.chars().any(|c| c.is_control()) {
        return Err(ValidationError::new(
            "name",
            "must not contain control characters",
        ));
    }
    Ok(name)
}

fn new_channel(
    server: ServerId,
    owner: UserId,
    name: String,
    description: String,
    position: i32,
) -> NewConversationRow {
    NewConversationRow {
        kind: ConversationKind::Channel,
        title: name,
        description,
        character_id: None,
        server_id: Some(server),
        owner_id: Some(owner),
        visibility: Visibility::Private,
        member_limit: 0,
        direct_key: None,
        position,
    }
}

/// The server and the caller's role: members see it; others see public servers (no role) or 404.
async fn load(
    state: &AppState,
    id: ServerId,
    user: UserId,
) -> Result<(ServerRow, Option<MemberRole>), ApiError> {
    let (server, member) = db::run(&state.db, move |c| {
        let server = db::servers::find(c, id)?;
        let member = db::servers::find_member(c, id, user)?;
        Ok((server, member))
    })
    .await?;
    let role = member.map(|m| m.role);
    if role.is_none() && server.visibility != Visibility::Public {
        return Err(ApiError::not_found("server not found"));
    }
    Ok((server, role))
}

/// As [`load`], requiring membership with one of `roles` (403 for members without it, 404 for
/// outsiders of private servers, 403 for outsiders of public ones).
async fn require(
    state: &AppState,
    id: ServerId,
    user: UserId,
    roles: &[MemberRole],
) -> Result<(ServerRow, MemberRole), ApiError> {
    let (server, role) = load(state, id, user).await?;
    match role {
        Some(r) if roles.contains(&r) => Ok((server, r)),
        _ => Err(ApiError::forbidden("you do not have the role this needs")),
    }
}

const MANAGERS: &[MemberRole] = &[MemberRole::Owner, MemberRole::Admin];
const ANY_MEMBER: &[MemberRole] = &[MemberRole::Owner, MemberRole::Admin, MemberRole::Member];

#[utoipa::path(post, path = "/api/v1/servers", tag = "servers", security(("bearer" = [])),
    request_body = CreateServerRequest, responses((status = 201, body = ServerView), (status = 422)))]
pub async fn create_server(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<CreateServerRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewServerRow {
        owner_id: user.id,
        name: bounded_text("name", &body.name, 1, 100)?,
        description: bounded_text_opt("description", Some(&body.description), 0, 1000)?
            .unwrap_or_default(),
        visibility: body.visibility.unwrap_or(Visibility::Private),
        invite_code: invite_code(),
        icon_url: body
            .icon_url
            .map(|u| HttpUrl::parse("icon_url", &u).map(HttpUrl::into_inner))
            .transpose()?,
    };
    let owner = user.id;
    let (server, general) = db::run(&state.db, move |c| {
        db::transaction(c, |c| {
            let server = db::servers::insert(c, new)?;
            let general = db::conversations::insert(
                c,
                new_channel(server.id, owner, "general".into(), String::new(), 0),
            )?;
            Ok((server, general))
        })
    })
    .await?;
    let mut view = ServerView::new(&server, Some(MemberRole::Owner));
    view.channels = Some(vec![ConversationView::new(
        &general,
        Some(MemberRole::Owner),
    )]);
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(get, path = "/api/v1/servers", tag = "servers", security(("bearer" = [])),
    responses((status = 200, body = [ServerView])))]
pub async fn list_my_servers(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<ServerView>>, ApiError> {
    let me = user.id;
    let rows = db::run(&state.db, move |c| {
        db::servers::list_for_user(c, me)?
            .into_iter()
            .map(|s| {
                let role = db::servers::find_member(c, s.id, me)?.map(|m| m.role);
                Ok((s, role))
            })
            .collect::<Result<Vec<_>, db::DbError>>()
    })
    .await?;
    Ok(web::Json(
        rows.iter()
            .map(|(s, role)| ServerView::new(s, *role))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/servers/public", tag = "servers", security(("bearer" = [])),
    params(ServerListQuery), responses((status = 200, body = Page<ServerView>)))]
pub async fn list_public_servers(
    _user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ServerListQuery>,
) -> Result<web::Json<Page<ServerView>>, ApiError> {
    let (limit, offset) = Page::<ServerView>::bounds(query.limit, query.offset)?;
    let rows = db::run(&state.db, move |c| {
        db::servers::list_public(c, limit, offset)
    })
    .await?;
    Ok(web::Json(Page::new(
        rows.iter().map(|s| ServerView::new(s, None)).collect(),
        limit,
        offset,
    )))
}

#[utoipa::path(get, path = "/api/v1/servers/{id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ServerView), (status = 404)))]
pub async fn get_server(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<ServerView>, ApiError> {
    let id = ServerId(path.into_inner());
    let (server, role) = load(&state, id, user.id).await?;
    let channels = db::run(&state.db, move |c| db::conversations::list_channels(c, id)).await?;
    let mut view = ServerView::new(&server, role);
    view.channels = Some(
        channels
            .iter()
            .map(|ch| ConversationView::new(ch, role))
            .collect(),
    );
    Ok(web::Json(view))
}

#[utoipa::path(patch, path = "/api/v1/servers/{id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = UpdateServerRequest,
    responses((status = 200, body = ServerView), (status = 403), (status = 404), (status = 422)))]
pub async fn update_server(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<UpdateServerRequest>,
) -> Result<web::Json<ServerView>, ApiError> {
    let id = ServerId(path.into_inner());
    require(&state, id, user.id, &[MemberRole::Owner]).await?;
    let body = body.into_inner();
    let changes = ServerChanges {
        name: bounded_text_opt("name", body.name.as_deref(), 1, 100)?,
        description: bounded_text_opt("description", body.description.as_deref(), 0, 1000)?,
        visibility: body.visibility,
        invite_code: body.rotate_invite_code.then(invite_code),
        icon_url: match body.icon_url {
            None => None,
            Some(None) => Some(None),
            Some(Some(u)) => Some(Some(HttpUrl::parse("icon_url", &u)?.into_inner())),
        },
    };
    let row = db::run(&state.db, move |c| db::servers::update(c, id, &changes)).await?;
    Ok(web::Json(ServerView::new(&row, Some(MemberRole::Owner))))
}

#[utoipa::path(delete, path = "/api/v1/servers/{id}", tag = "servers", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_server(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = ServerId(path.into_inner());
    require(&state, id, user.id, &[MemberRole::Owner]).await?;
    db::run(&state.db, move |c| db::servers::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn admit(state: &AppState, server: &ServerRow, user: UserId) -> Result<(), ApiError> {
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

async fn depart(state: &AppState, server: ServerId, user: UserId) -> Result<(), ApiError> {
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
async fn channel_of(
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
