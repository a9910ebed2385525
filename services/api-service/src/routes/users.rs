//! Profiles: my own (with e-mail) and other people's public view.

use actix_web::web;
use chrono::{DateTime, NaiveDateTime, Utc};
use domain::{bounded_text_opt, HttpUrl, Role, UserId};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::AppState;

/// A user as clients see them. `email` is present only for the user themself and admins.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    #[schema(value_type = i64)]
    pub id: UserId,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    #[schema(value_type = String)]
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

impl UserView {
    pub fn private(row: &db::users::UserRow) -> Self {
        let mut view = Self::public(row);
        view.email = Some(row.email.clone());
        view
    }

    pub fn public(row: &db::users::UserRow) -> Self {
        Self {
            id: row.id,
            username: row.username.clone(),
            email: None,
            display_name: row.display_name.clone(),
            bio: row.bio.clone(),
            avatar_url: row.avatar_url.clone(),
            role: row.role,
            created_at: utc(row.created_at),
        }
    }
}

pub fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(at, Utc)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfileRequest {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    /// An http(s) URL, or `null` to remove the avatar.
    #[serde(default, deserialize_with = "crate::routes::double_option")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
}

#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401)))]
pub async fn get_me(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<UserView>, ApiError> {
    let id = user.id;
    let row = db::run(&state.db, move |c| db::users::find(c, id)).await?;
    Ok(web::Json(UserView::private(&row)))
}

#[utoipa::path(patch, path = "/api/v1/users/me", tag = "users", security(("bearer" = [])),
    request_body = UpdateProfileRequest, responses((status = 200, body = UserView), (status = 401), (status = 422)))]
pub async fn update_me(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<UpdateProfileRequest>,
) -> Result<web::Json<UserView>, ApiError> {
    let body = body.into_inner();
    let changes = db::users::UserChanges {
        display_name: bounded_text_opt("display_name", body.display_name.as_deref(), 1, 64)?,
        bio: bounded_text_opt("bio", body.bio.as_deref(), 0, 500)?,
        avatar_url: match body.avatar_url {
            None => None,
            Some(None) => Some(None),
            Some(Some(url)) => Some(Some(HttpUrl::parse("avatar_url", &url)?.into_inner())),
        },
    };
    let id = user.id;
    let row = db::run(&state.db, move |c| {
        db::users::update_profile(c, id, &changes)
    })
    .await?;
    Ok(web::Json(UserView::private(&row)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = UserView), (status = 404)))]
pub async fn get_user(
    viewer: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<UserView>, ApiError> {
    let id = UserId(path.into_inner());
    let row = db::run(&state.db, move |c| db::users::find(c, id)).await?;
    if !row.is_active && !viewer.is_admin() {
        return Err(ApiError::not_found("user not found"));
    }
    Ok(web::Json(if viewer.is_admin() || viewer.id == id {
        UserView::private(&row)
    } else {
        UserView::public(&row)
    }))
}
