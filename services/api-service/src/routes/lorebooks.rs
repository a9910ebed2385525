//! Lorebooks (world info): a user's books, the editor's test box, and books attached to a
//! conversation. Rules in `chat::lorebooks`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use db::lorebooks::LorebookRow;
use domain::lorebook::Lorebook;
use domain::{ConversationId, LorebookId};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::users::utc;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct LorebookView {
    pub id: i64,
    pub name: String,
    /// The character whose own book this is (imported with its card).
    pub character_id: Option<i64>,
    /// The book in Character Card V2 `character_book` form.
    pub book: Lorebook,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<chat::lorebooks::StoredBook> for LorebookView {
    fn from(b: chat::lorebooks::StoredBook) -> Self {
        Self {
            id: b.row.id.0,
            name: b.row.name,
            character_id: b.row.character_id,
            book: b.book,
            created_at: utc(b.row.created_at),
            updated_at: utc(b.row.updated_at),
        }
    }
}

/// A book in a list or attached to a conversation: without its entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct LorebookSummary {
    pub id: i64,
    pub name: String,
    pub character_id: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

impl From<&LorebookRow> for LorebookSummary {
    fn from(r: &LorebookRow) -> Self {
        Self {
            id: r.id.0,
            name: r.name.clone(),
            character_id: r.character_id,
            updated_at: utc(r.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LorebookRequest {
    /// 1–200 characters; default: the book's own name.
    pub name: Option<String>,
    /// Character Card V2 `character_book`: entries with keys (`/regex/flags` allowed),
    /// secondary keys, constant, priority, insertion order, position, …
    pub book: Lorebook,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LorebookTestRequest {
    pub book: Lorebook,
    /// The text to scan (up to 20,000 characters).
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LorebookTestHit {
    /// Index of the entry in `book.entries`.
    pub entry: u32,
    /// The key that matched; absent for a constant entry.
    pub key: Option<String>,
    /// 0 = in the text; n = in entries fired in recursion round n.
    pub round: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LorebookTestResult {
    pub fired: Vec<LorebookTestHit>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachLorebookRequest {
    pub lorebook_id: i64,
}

#[utoipa::path(get, path = "/api/v1/lorebooks", tag = "lorebooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<LorebookSummary>)))]
pub async fn list_lorebooks(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<LorebookSummary>>, ApiError> {
    let books = chat::lorebooks::list(&state.chat(), &chat::Actor::from(&user)).await?;
    Ok(web::Json(
        books
            .iter()
            .map(|b| LorebookSummary::from(&b.row))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/lorebooks", tag = "lorebooks", security(("bearer" = [])),
    request_body = LorebookRequest, responses((status = 201, body = LorebookView), (status = 422)))]
pub async fn create_lorebook(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<LorebookRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let book = chat::lorebooks::create(
        &state.chat(),
        &chat::Actor::from(&user),
        body.name,
        body.book,
    )
    .await?;
    Ok(HttpResponse::Created().json(LorebookView::from(book)))
}

#[utoipa::path(post, path = "/api/v1/lorebooks/test", tag = "lorebooks", security(("bearer" = [])),
    request_body = LorebookTestRequest, responses((status = 200, body = LorebookTestResult), (status = 422)))]
pub async fn test_lorebook(
    _user: AuthUser,
    body: platform::http::Json<LorebookTestRequest>,
) -> Result<web::Json<LorebookTestResult>, ApiError> {
    let body = body.into_inner();
    // Regex compilation is bounded in size but still CPU work: off the async threads.
    let hits = web::block(move || chat::lorebooks::test_text(&body.book, &body.text))
        .await
        .map_err(ApiError::internal)??;
    Ok(web::Json(LorebookTestResult {
        fired: hits
            .into_iter()
            .map(|h| LorebookTestHit {
                entry: u32::try_from(h.entry).unwrap_or(u32::MAX),
                key: h.key,
                round: h.round,
            })
            .collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/lorebooks/{id}", tag = "lorebooks", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = LorebookView), (status = 404)))]
pub async fn get_lorebook(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<LorebookView>, ApiError> {
    let id = LorebookId(path.into_inner());
    let book = chat::lorebooks::get(&state.chat(), &chat::Actor::from(&user), id).await?;
    Ok(web::Json(LorebookView::from(book)))
}

#[utoipa::path(put, path = "/api/v1/lorebooks/{id}", tag = "lorebooks", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = LorebookRequest,
    responses((status = 200, body = LorebookView), (status = 404), (status = 422)))]
pub async fn update_lorebook(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<LorebookRequest>,
) -> Result<web::Json<LorebookView>, ApiError> {
    let id = LorebookId(path.into_inner());
    let body = body.into_inner();
    let book = chat::lorebooks::update(
        &state.chat(),
        &chat::Actor::from(&user),
        id,
        body.name,
        body.book,
    )
    .await?;
    Ok(web::Json(LorebookView::from(book)))
}

#[utoipa::path(delete, path = "/api/v1/lorebooks/{id}", tag = "lorebooks", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_lorebook(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = LorebookId(path.into_inner());
    chat::lorebooks::delete(&state.chat(), &chat::Actor::from(&user), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/lorebooks", tag = "lorebooks", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = Vec<LorebookSummary>), (status = 404)))]
pub async fn list_attached_lorebooks(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<LorebookSummary>>, ApiError> {
    let id = ConversationId(path.into_inner());
    let rows = chat::lorebooks::attached(&state.chat(), &chat::Actor::from(&user), id).await?;
    Ok(web::Json(rows.iter().map(LorebookSummary::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/lorebooks", tag = "lorebooks", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = AttachLorebookRequest,
    responses((status = 200, body = Vec<LorebookSummary>), (status = 403), (status = 404), (status = 422)))]
pub async fn attach_lorebook(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<AttachLorebookRequest>,
) -> Result<web::Json<Vec<LorebookSummary>>, ApiError> {
    let id = ConversationId(path.into_inner());
    let book = LorebookId(body.into_inner().lorebook_id);
    let rows = chat::lorebooks::attach(&state.chat(), &chat::Actor::from(&user), id, book).await?;
    Ok(web::Json(rows.iter().map(LorebookSummary::from).collect()))
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}/lorebooks/{lorebook_id}", tag = "lorebooks",
    security(("bearer" = [])), params(("id" = i64, Path), ("lorebook_id" = i64, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
pub async fn detach_lorebook(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, book) = path.into_inner();
    chat::lorebooks::detach(
        &state.chat(),
        &chat::Actor::from(&user),
        ConversationId(id),
        LorebookId(book),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
