//! The signed-in person's own preferences (issue 19): DM read receipts, off by default.

use actix_web::web;
use chat::Actor;
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// In DMs, the other person sees how far you have read (`conversation.read_receipt`) —
    /// only when they turned theirs on too.
    pub read_receipts: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettingsRequest {
    pub read_receipts: Option<bool>,
}

fn view(s: db::user_settings::UserSettings) -> SettingsView {
    SettingsView {
        read_receipts: s.read_receipts,
    }
}

#[utoipa::path(get, path = "/api/v1/users/me/settings", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = SettingsView)))]
pub async fn get_settings(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<SettingsView>, ApiError> {
    let s = chat::settings::get(&state.chat(), &Actor::from(&user)).await?;
    Ok(web::Json(view(s)))
}

#[utoipa::path(patch, path = "/api/v1/users/me/settings", tag = "users", security(("bearer" = [])),
    request_body = UpdateSettingsRequest, responses((status = 200, body = SettingsView), (status = 422)))]
pub async fn update_settings(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<UpdateSettingsRequest>,
) -> Result<web::Json<SettingsView>, ApiError> {
    let s = chat::settings::update(&state.chat(), &Actor::from(&user), body.read_receipts).await?;
    Ok(web::Json(view(s)))
}
