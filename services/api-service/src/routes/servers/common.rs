//! What the server routes share: their views and requests, the access checks, channel naming.

use chrono::{DateTime, Utc};
use db::conversations::NewConversationRow;
use db::servers::ServerRow;
use domain::{
    bounded_text, ConversationKind, MemberRole, ServerId, UserId, ValidationError, Visibility,
};
use platform::ApiError;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::conversations::ConversationView;
use crate::routes::{double_option, users::utc};
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
    pub(super) fn new(row: &ServerRow, role: Option<MemberRole>) -> Self {
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

pub(super) fn invite_code() -> String {
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Channel names: lower-case words joined by `-`, like `general` or `off-topic`.
pub(super) fn channel_name(raw: &str) -> Result<String, ValidationError> {
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

pub(super) fn new_channel(
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
pub(super) async fn load(
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
pub(super) async fn require(
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

pub(super) const MANAGERS: &[MemberRole] = &[MemberRole::Owner, MemberRole::Admin];
pub(super) const ANY_MEMBER: &[MemberRole] =
    &[MemberRole::Owner, MemberRole::Admin, MemberRole::Member];
