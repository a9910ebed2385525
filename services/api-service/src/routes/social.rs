//! People talking to people: direct messages (one per pair, never across a block), group rooms
//! with roles (owner/admin/member), public group discovery, membership changes published on the
//! conversation's log, and AI characters added to groups.

use actix_web::{web, HttpResponse};
use chat::messages::publish;
use chrono::{DateTime, Utc};
use db::conversations::NewConversationRow;
use domain::events::{ConversationEvent, UserEvent};
use domain::{
    bounded_text, bounded_text_opt, CharacterId, ConversationId, ConversationKind, MemberRole,
    UserId, ValidationError, Visibility,
};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::conversation_views::{ConversationView, CreateConversationRequest};
use crate::routes::{users::utc, Page};
use crate::state::AppState;

const DEFAULT_MEMBER_LIMIT: i32 = 100;
const MAX_MEMBER_LIMIT: i32 = 10_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    #[schema(value_type = String, example = "member")]
    pub role: MemberRole,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    #[schema(value_type = i64)]
    pub user_id: UserId,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    /// `admin` or `member`; `owner` transfers ownership (the old owner becomes admin).
    #[schema(value_type = String)]
    pub role: MemberRole,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCharacterRequest {
    #[schema(value_type = i64)]
    pub character_id: CharacterId,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PublicGroupsQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Creates a `direct` or `group` conversation (called from `POST /conversations`).
pub async fn create_human_conversation(
    state: &AppState,
    user: &AuthUser,
    body: CreateConversationRequest,
) -> Result<HttpResponse, ApiError> {
    match body.kind {
        ConversationKind::Direct => create_direct(state, user, body).await,
        _ => create_group(state, user, body).await,
    }
}

async fn create_direct(
    state: &AppState,
    user: &AuthUser,
    body: CreateConversationRequest,
) -> Result<HttpResponse, ApiError> {
    let other = body.user_id.ok_or_else(|| {
        ValidationError::new("user_id", "a direct conversation needs the other user")
    })?;
    if other == user.id {
        return Err(ValidationError::new("user_id", "you cannot message yourself").into());
    }
    let me = user.id;
    let outcome = db::run(&state.db, move |c| {
        let target = match crate::routes::active_user(c, other)? {
            Ok(user) => user,
            Err(refused) => return Ok(Err(refused)),
        };
        if db::blocks::is_blocked_either_way(c, me, target.id)? {
            return Ok(Err(ApiError::forbidden("you cannot message this user")));
        }
        Ok(Ok(db::conversations::get_or_create_direct(
            c, me, target.id,
        )?))
    })
    .await??;
    let (row, created) = outcome;
    if created {
        let _ = state
            .bus
            .publish_user(
                other,
                &UserEvent::ConversationAdded {
                    conversation_id: row.id,
                },
            )
            .await;
    }
    let view = ConversationView::new(&row, Some(MemberRole::Member));
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

async fn create_group(
    state: &AppState,
    user: &AuthUser,
    body: CreateConversationRequest,
) -> Result<HttpResponse, ApiError> {
    let title = bounded_text("title", body.title.as_deref().unwrap_or(""), 1, 100)?;
    let description =
        bounded_text_opt("description", body.description.as_deref(), 0, 1000)?.unwrap_or_default();
    let member_limit = body.member_limit.unwrap_or(DEFAULT_MEMBER_LIMIT);
    if !(2..=MAX_MEMBER_LIMIT).contains(&member_limit) {
        return Err(ValidationError::new(
            "member_limit",
            format!("must be between 2 and {MAX_MEMBER_LIMIT}"),
        )
        .into());
    }
    if body.character_id.is_some() || body.user_id.is_some() {
        return Err(ValidationError::new(
            "kind",
            "groups take no character_id or user_id; add members after creating",
        )
        .into());
    }
    let owner = user.id;
    let new = NewConversationRow {
        kind: ConversationKind::Group,
        title,
        description,
        character_id: None,
        server_id: None,
        owner_id: Some(owner),
        visibility: body.visibility.unwrap_or(Visibility::Private),
        member_limit,
        direct_key: None,
        position: 0,
    };
    let row = db::run(&state.db, move |c| {
        db::conversations::insert_with_members(c, new, &[(owner, MemberRole::Owner)])
    })
    .await?;
    Ok(HttpResponse::Created().json(ConversationView::new(&row, Some(MemberRole::Owner))))
}

/// The group `id` and the caller's membership ([`chat::members::group`]).
async fn group(
    state: &AppState,
    id: ConversationId,
    user: &AuthUser,
) -> Result<(db::conversations::ConversationRow, db::members::MemberRow), ApiError> {
    Ok(chat::members::group(&state.chat(), id, &chat::Actor::from(user)).await?)
}

#[utoipa::path(get, path = "/api/v1/conversations/public", tag = "social", security(("bearer" = [])),
    params(PublicGroupsQuery), responses((status = 200, body = Page<ConversationView>)))]
pub async fn list_public_groups(
    _user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<PublicGroupsQuery>,
) -> Result<web::Json<Page<ConversationView>>, ApiError> {
    let (limit, offset) = Page::<ConversationView>::bounds(query.limit, query.offset)?;
    let rows = db::run(&state.db, move |c| {
        db::conversations::list_public_groups(c, limit, offset)
    })
    .await?;
    Ok(web::Json(Page::new(
        rows.iter()
            .map(|r| ConversationView::new(r, None))
            .collect(),
        limit,
        offset,
    )))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/members", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = [MemberView]), (status = 404)))]
pub async fn list_members(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<MemberView>>, ApiError> {
    let id = ConversationId(path.into_inner());
    chat::access::member_conversation(&state.chat(), id, user.id).await?;
    let rows = db::run(&state.db, move |c| db::members::list_with_users(c, id)).await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|m| MemberView {
                user_id: m.member.user_id,
                username: m.username,
                display_name: m.display_name,
                avatar_url: m.avatar_url,
                role: m.member.role,
                joined_at: utc(m.member.joined_at),
            })
            .collect(),
    ))
}

/// Adds `user` to a group, within its member limit. Returns false when they were already in.
async fn admit(
    state: &AppState,
    conversation: &db::conversations::ConversationRow,
    user: UserId,
) -> Result<(), ApiError> {
    let (id, limit) = (conversation.id, i64::from(conversation.member_limit));
    let joined = db::run(&state.db, move |c| {
        db::transaction(c, |c| {
            if db::members::is_member(c, id, user)? {
                return Ok(Ok(false));
            }
            if db::members::count_active(c, id)? >= limit {
                return Ok(Err(ApiError::conflict("the group is full")));
            }
            db::members::add(c, id, user, MemberRole::Member)?;
            Ok(Ok(true))
        })
    })
    .await??;
    if joined {
        publish(
            &state.chat(),
            id,
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
                    conversation_id: id,
                },
            )
            .await;
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/members", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = AddMemberRequest,
    responses((status = 204), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn add_member(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    let (conversation, member) = group(&state, id, &user).await?;
    if !member.role.can_manage() {
        return Err(ApiError::forbidden("only the owner or an admin may invite"));
    }
    let invitee = body.user_id;
    let inviter = user.id;
    let allowed = db::run(&state.db, move |c| {
        if let Err(refused) = crate::routes::active_user(c, invitee)? {
            return Ok(Err(refused));
        }
        // Someone who blocked you cannot be pulled into your room.
        if db::blocks::is_blocked_either_way(c, inviter, invitee)? {
            return Ok(Err(ApiError::forbidden("you cannot add this user")));
        }
        Ok(Ok(()))
    })
    .await?;
    allowed?;
    admit(&state, &conversation, invitee).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/join", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404), (status = 409)))]
pub async fn join_group(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    let row = db::run(&state.db, move |c| db::conversations::find(c, id)).await?;
    // Private groups are invitation-only and invisible to outsiders.
    if row.kind != ConversationKind::Group || row.visibility != Visibility::Public {
        return Err(ApiError::not_found("conversation not found"));
    }
    admit(&state, &row, user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(patch, path = "/api/v1/conversations/{id}/members/{user_id}", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path), ("user_id" = i64, Path)), request_body = ChangeRoleRequest,
    responses((status = 200, body = MemberView), (status = 403), (status = 404),
              (status = 409, description = "not a group conversation")))]
pub async fn change_member_role(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: platform::http::Json<ChangeRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, target) = (ConversationId(path.0), UserId(path.1));
    let actor = chat::Actor::from(&user);
    chat::members::change_role(&state.chat(), &actor, id, target, body.role).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}/members/{user_id}", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 403), (status = 404), (status = 409, description = "the owner must transfer ownership first")))]
pub async fn remove_member(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, target) = (ConversationId(path.0), UserId(path.1));
    chat::members::remove(&state.chat(), &chat::Actor::from(&user), id, target).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/characters", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = AddCharacterRequest,
    responses((status = 204), (status = 403), (status = 404),
              (status = 409, description = "not a group or channel"), (status = 422)))]
pub async fn add_character(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<AddCharacterRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    let (conversation, member) =
        chat::access::member_conversation(&state.chat(), id, user.id).await?;
    if !matches!(
        conversation.kind,
        ConversationKind::Group | ConversationKind::Channel
    ) {
        return Err(ApiError::conflict(
            "characters can be added to groups and channels",
        ));
    }
    if !member.role.can_manage() {
        return Err(ApiError::forbidden(
            "only the owner or an admin may add characters",
        ));
    }
    let (character, me) = (body.character_id, user.id);
    db::run(&state.db, move |c| {
        let row = db::characters::find(c, character)?;
        if row.owner_id != me && row.visibility != Visibility::Public {
            return Err(db::DbError::NotFound);
        }
        db::conversations::add_character(c, id, character)
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ValidationError::new("character_id", "no such character").into(),
        other => ApiError::from(other),
    })?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}/characters/{character_id}", tag = "social", security(("bearer" = [])),
    params(("id" = i64, Path), ("character_id" = i64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn remove_character(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, character) = (ConversationId(path.0), CharacterId(path.1));
    let (_, member) = chat::access::member_conversation(&state.chat(), id, user.id).await?;
    if !member.role.can_manage() {
        return Err(ApiError::forbidden(
            "only the owner or an admin may remove characters",
        ));
    }
    let removed = db::run(&state.db, move |c| {
        db::conversations::remove_character(c, id, character)
    })
    .await?;
    if !removed {
        return Err(ApiError::not_found(
            "that character is not in this conversation",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}
