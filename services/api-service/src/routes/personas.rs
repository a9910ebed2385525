//! Personas: who the user speaks as (`{{user}}` in prompts). Every rule is in
//! `chat::personas`; these handlers parse and render.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use db::personas::PersonaRow;
use domain::PersonaId;
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::{double_option, users::utc};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonaView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub avatar_url: Option<String>,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&PersonaRow> for PersonaView {
    fn from(p: &PersonaRow) -> Self {
        Self {
            id: p.id.0,
            name: p.name.clone(),
            description: p.description.clone(),
            avatar_url: p.avatar_url.clone(),
            is_default: p.is_default,
            created_at: utc(p.created_at),
            updated_at: utc(p.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonaRequest {
    /// 1–100 characters; required when creating.
    pub name: Option<String>,
    /// Goes into the prompt; up to 5000 characters.
    pub description: Option<String>,
    /// An absolute http(s) URL; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
}

impl From<PersonaRequest> for chat::personas::PersonaInput {
    fn from(r: PersonaRequest) -> Self {
        Self {
            name: r.name,
            description: r.description,
            avatar_url: r.avatar_url,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/personas", tag = "personas", security(("bearer" = [])),
    responses((status = 200, body = Vec<PersonaView>)))]
pub async fn list_personas(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<PersonaView>>, ApiError> {
    let rows = chat::personas::list(&state.chat(), &chat::Actor::from(&user)).await?;
    Ok(web::Json(rows.iter().map(PersonaView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/personas", tag = "personas", security(("bearer" = [])),
    request_body = PersonaRequest, responses((status = 201, body = PersonaView), (status = 422)))]
pub async fn create_persona(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<PersonaRequest>,
) -> Result<HttpResponse, ApiError> {
    let row = chat::personas::create(
        &state.chat(),
        &chat::Actor::from(&user),
        body.into_inner().into(),
    )
    .await?;
    Ok(HttpResponse::Created().json(PersonaView::from(&row)))
}

#[utoipa::path(get, path = "/api/v1/personas/{id}", tag = "personas", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = PersonaView), (status = 404)))]
pub async fn get_persona(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<PersonaView>, ApiError> {
    let id = PersonaId(path.into_inner());
    let row = chat::personas::get(&state.chat(), &chat::Actor::from(&user), id).await?;
    Ok(web::Json(PersonaView::from(&row)))
}

#[utoipa::path(patch, path = "/api/v1/personas/{id}", tag = "personas", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = PersonaRequest,
    responses((status = 200, body = PersonaView), (status = 404), (status = 422)))]
pub async fn update_persona(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<PersonaRequest>,
) -> Result<web::Json<PersonaView>, ApiError> {
    let id = PersonaId(path.into_inner());
    let row = chat::personas::update(
        &state.chat(),
        &chat::Actor::from(&user),
        id,
        body.into_inner().into(),
    )
    .await?;
    Ok(web::Json(PersonaView::from(&row)))
}

#[utoipa::path(delete, path = "/api/v1/personas/{id}", tag = "personas", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_persona(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = PersonaId(path.into_inner());
    chat::personas::delete(&state.chat(), &chat::Actor::from(&user), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/personas/{id}/default", tag = "personas", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = PersonaView), (status = 404)))]
pub async fn make_default_persona(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<PersonaView>, ApiError> {
    let id = PersonaId(path.into_inner());
    let row = chat::personas::make_default(&state.chat(), &chat::Actor::from(&user), id).await?;
    Ok(web::Json(PersonaView::from(&row)))
}
