//! Common prompts: instructions prepended to every AI conversation. Everyone may read the enabled
//! ones; only admins create, change, reorder, enable or delete them.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use db::prompts::{NewPromptRow, PromptChanges, PromptRow};
use domain::{bounded_text, bounded_text_opt, PromptId};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::users::utc;
use crate::state::AppState;

const MAX_PROMPT_CHARS: usize = 20_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct PromptView {
    #[schema(value_type = i64)]
    pub id: PromptId,
    pub name: String,
    pub content: String,
    pub position: i32,
    pub is_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&PromptRow> for PromptView {
    fn from(row: &PromptRow) -> Self {
        Self {
            id: row.id,
            name: row.name.clone(),
            content: row.content.clone(),
            position: row.position,
            is_enabled: row.is_enabled,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePromptRequest {
    pub name: String,
    pub content: String,
    #[serde(default = "enabled_by_default")]
    pub is_enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePromptRequest {
    pub name: Option<String>,
    pub content: Option<String>,
    pub is_enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderPromptsRequest {
    /// Prompt ids in the new order; ids left out keep their relative order after these.
    #[schema(value_type = Vec<i64>)]
    pub ids: Vec<PromptId>,
}

#[utoipa::path(get, path = "/api/v1/prompts", tag = "prompts", security(("bearer" = [])),
    responses((status = 200, body = [PromptView]), (status = 401)))]
pub async fn list_prompts(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<PromptView>>, ApiError> {
    let admin = user.is_admin();
    let rows = db::run(&state.db, move |c| {
        if admin {
            db::prompts::list(c)
        } else {
            db::prompts::list_enabled(c)
        }
    })
    .await?;
    Ok(web::Json(rows.iter().map(PromptView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/prompts", tag = "prompts", security(("bearer" = [])),
    request_body = CreatePromptRequest, responses((status = 201, body = PromptView), (status = 403), (status = 422)))]
pub async fn create_prompt(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<CreatePromptRequest>,
) -> Result<HttpResponse, ApiError> {
    user.require_admin()?;
    let body = body.into_inner();
    let row = NewPromptRow {
        name: bounded_text("name", &body.name, 1, 100)?,
        content: bounded_text("content", &body.content, 1, MAX_PROMPT_CHARS)?,
        is_enabled: body.is_enabled,
    };
    let created = db::run(&state.db, move |c| db::prompts::insert(c, row)).await?;
    Ok(HttpResponse::Created().json(PromptView::from(&created)))
}

#[utoipa::path(patch, path = "/api/v1/prompts/{id}", tag = "prompts", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = UpdatePromptRequest,
    responses((status = 200, body = PromptView), (status = 403), (status = 404), (status = 422)))]
pub async fn update_prompt(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<UpdatePromptRequest>,
) -> Result<web::Json<PromptView>, ApiError> {
    user.require_admin()?;
    let body = body.into_inner();
    let changes = PromptChanges {
        name: bounded_text_opt("name", body.name.as_deref(), 1, 100)?,
        content: bounded_text_opt("content", body.content.as_deref(), 1, MAX_PROMPT_CHARS)?,
        is_enabled: body.is_enabled,
    };
    let id = PromptId(path.into_inner());
    let row = db::run(&state.db, move |c| db::prompts::update(c, id, &changes)).await?;
    Ok(web::Json(PromptView::from(&row)))
}

#[utoipa::path(delete, path = "/api/v1/prompts/{id}", tag = "prompts", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_prompt(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require_admin()?;
    let id = PromptId(path.into_inner());
    db::run(&state.db, move |c| db::prompts::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(put, path = "/api/v1/prompts/order", tag = "prompts", security(("bearer" = [])),
    request_body = ReorderPromptsRequest,
    responses((status = 200, body = [PromptView]), (status = 403), (status = 422)))]
pub async fn reorder_prompts(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<ReorderPromptsRequest>,
) -> Result<web::Json<Vec<PromptView>>, ApiError> {
    user.require_admin()?;
    let ids = body.into_inner().ids;
    let rows = db::run(&state.db, move |c| {
        db::prompts::reorder(c, &ids)?;
        db::prompts::list(c)
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ApiError::validation("ids", "every id must be an existing prompt"),
        other => other.into(),
    })?;
    Ok(web::Json(rows.iter().map(PromptView::from).collect()))
}
