//! Messages of a conversation: history pages, sending (idempotent, rate-limited, enqueueing the
//! AI reply), waiting for the reply, regenerate (a new variant), choosing a variant or branch,
//! edit-and-rerun, continue, stop, edit and delete.

use std::time::{Duration, Instant};

use actix_web::{web, HttpRequest, HttpResponse};
use chat::messages::SendInput;
use chat::Actor;
use domain::events::MessageView;
use domain::{ConversationId, MessageId, MessageStatus, MessageType};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::state::AppState;

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 100;
/// How long `?wait=true` waits for an AI reply before answering with what it has.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Messages older than this id (the page before).
    #[param(value_type = Option<i64>)]
    pub before: Option<MessageId>,
    /// Messages newer than this id (catching up).
    #[param(value_type = Option<i64>)]
    pub after: Option<MessageId>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    /// The active path, oldest first. A message with siblings (variants of an AI turn,
    /// branches after an edit-and-rerun) carries `fork`: how many and which one this is.
    pub items: Vec<MessageView>,
    /// Whether more messages exist beyond this page in the direction asked.
    pub has_more: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    pub content: String,
    /// Makes a retried send return the first result (the `Idempotency-Key` header does the same).
    pub client_id: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub reply_to_id: Option<MessageId>,
    /// `text` (default), `image` or `file`; the latter two need `metadata.url`.
    #[schema(value_type = Option<String>)]
    pub message_type: Option<MessageType>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Reply in the thread under this message (groups and channels): the reply stays off the
    /// main timeline; `GET …/messages/{root}/thread` lists it.
    #[schema(value_type = Option<i64>)]
    pub thread_root_id: Option<MessageId>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SendQuery {
    /// Wait for the AI reply and return it whole (simple clients).
    #[serde(default)]
    pub wait: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SendMessageResponse {
    pub message: MessageView,
    /// The AI reply's job, for AI conversations.
    pub job_id: Option<String>,
    /// With `?wait=true`: the AI reply once it is complete, failed or cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<MessageView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditMessageRequest {
    pub content: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopRequest {
    /// The generation to stop; by default the conversation's reply in progress.
    pub job_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    pub job_id: String,
}

fn path_ids(path: (i64, i64)) -> (ConversationId, MessageId) {
    (ConversationId(path.0), MessageId(path.1))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), HistoryQuery), responses((status = 200, body = MessagePage), (status = 404), (status = 422)))]
pub async fn list_messages(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<HistoryQuery>,
) -> Result<web::Json<MessagePage>, ApiError> {
    let id = ConversationId(path.into_inner());
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    if q.before.is_some() && q.after.is_some() {
        return Err(ApiError::validation(
            "before",
            "use either before or after, not both",
        ));
    }
    let (conversation, _) = chat::access::member_conversation(&state.chat(), id, user.id).await?;
    let room = conversation.kind != domain::ConversationKind::AiChat;
    let (before, after, viewer) = (q.before, q.after, user.id);
    let mut rows = db::run(&state.db, move |c| {
        db::messages::list_page(c, id, before, after, limit + 1, Some(viewer))
    })
    .await?;
    let has_more = rows.len() as i64 > limit;
    if has_more {
        // One extra row tells whether there is more; drop it from the far end of the page.
        if after.is_some() {
            rows.pop();
        } else {
            rows.remove(0);
        }
    }
    let items = db::run(&state.db, move |c| {
        let mut items = db::messages::views(c, &rows)?;
        db::tree::annotate_forks(c, id, &mut items, room)?;
        db::messages::annotate(c, &mut items, Some(viewer))?;
        Ok(items)
    })
    .await?;
    Ok(web::Json(MessagePage { items, has_more }))
}

/// Client id from the body, else the `Idempotency-Key` header.
fn client_id(req: &HttpRequest, body: Option<String>) -> Result<Option<String>, ApiError> {
    if body.is_some() {
        return Ok(body);
    }
    match req.headers().get("Idempotency-Key") {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim().to_owned()))
            .map_err(|_| ApiError::validation("Idempotency-Key", "must be printable ASCII")),
    }
}

/// Polls the stored reply of `job_id` until it is no longer streaming, or the wait limit.
async fn wait_for_reply(state: &AppState, job_id: String) -> Result<Option<MessageView>, ApiError> {
    let deadline = Instant::now() + WAIT_LIMIT;
    let mut delay = Duration::from_millis(50);
    loop {
        let lookup = job_id.clone();
        let row = db::run(&state.db, move |c| {
            let row = db::messages::find_by_job_id(c, &lookup)?;
            match row {
                Some(r) if r.status != MessageStatus::Streaming => {
                    Ok(db::messages::views(c, std::slice::from_ref(&r))?.pop())
                }
                _ => Ok(None),
            }
        })
        .await?;
        if row.is_some() || Instant::now() >= deadline {
            return Ok(row);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), SendQuery, ("Idempotency-Key" = Option<String>, Header, description = "retry-safe send")),
    request_body = SendMessageRequest,
    responses((status = 202, body = SendMessageResponse, description = "stored; AI reply job enqueued"),
              (status = 201, body = SendMessageResponse, description = "stored (conversation without AI)"),
              (status = 200, body = SendMessageResponse, description = "a retry: the first result"),
              (status = 404), (status = 422), (status = 429)))]
pub async fn send_message(
    req: HttpRequest,
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<SendQuery>,
    body: platform::http::Json<SendMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    let body = body.into_inner();
    let input = SendInput {
        content: body.content,
        client_id: client_id(&req, body.client_id)?,
        reply_to_id: body.reply_to_id,
        message_type: body.message_type,
        metadata: body.metadata,
        thread_root_id: body.thread_root_id,
    };
    let outcome = chat::messages::send(&state.chat(), &Actor::from(&user), id, input).await?;
    let reply = match (&outcome.job_id, query.wait) {
        (Some(job), true) => wait_for_reply(&state, job.clone()).await?,
        _ => None,
    };
    let mut response = if !outcome.created || reply.is_some() {
        HttpResponse::Ok()
    } else if outcome.job_id.is_some() {
        HttpResponse::Accepted()
    } else {
        HttpResponse::Created()
    };
    Ok(response.json(SendMessageResponse {
        message: outcome.message,
        job_id: outcome.job_id,
        reply,
    }))
}

#[utoipa::path(patch, path = "/api/v1/conversations/{id}/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path)), request_body = EditMessageRequest,
    responses((status = 200, body = MessageView, description = "edited; the owner may also edit AI replies"), (status = 403), (status = 404),
              (status = 409, description = "the message was deleted or is still streaming"), (status = 422)))]
pub async fn edit_message(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: platform::http::Json<EditMessageRequest>,
) -> Result<web::Json<MessageView>, ApiError> {
    let (conversation, message) = path_ids(path.into_inner());
    let view = chat::messages::edit(
        &state.chat(),
        &Actor::from(&user),
        conversation,
        message,
        &body.content,
    )
    .await?;
    Ok(web::Json(view))
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}/messages/{message_id}", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_message(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (conversation, message) = path_ids(path.into_inner());
    chat::messages::delete(&state.chat(), &Actor::from(&user), conversation, message).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantAccepted {
    pub job_id: String,
    /// The new variant (`streaming` until its job finishes), now the active one.
    pub message: MessageView,
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/regenerate", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 202, body = VariantAccepted, description = "a new variant of the last AI reply is being generated; the older ones stay"),
              (status = 403), (status = 404),
              (status = 409, description = "nothing to regenerate or a reply is in progress")))]
pub async fn regenerate(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    let started = chat::generations::regenerate(&state.chat(), &Actor::from(&user), id).await?;
    Ok(HttpResponse::Accepted().json(VariantAccepted {
        job_id: started.job_id,
        message: started.message,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectVariantRequest {
    /// Which sibling to make active: 0-based, oldest first (the message's `fork.index` scale).
    pub index: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantSelected {
    /// The message now on the active path, with its `fork`.
    pub message: MessageView,
    /// The last message of the new active path.
    #[schema(value_type = i64)]
    pub leaf_id: MessageId,
}

#[utoipa::path(put, path = "/api/v1/conversations/{id}/messages/{message_id}/active_variant", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path, description = "any of the siblings")),
    request_body = SelectVariantRequest,
    responses((status = 200, body = VariantSelected), (status = 403), (status = 404),
              (status = 409, description = "a reply is streaming, or the message has no variants here"),
              (status = 422, description = "index out of range")))]
pub async fn select_variant(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: platform::http::Json<SelectVariantRequest>,
) -> Result<web::Json<VariantSelected>, ApiError> {
    let (conversation, message) = path_ids(path.into_inner());
    let selected = chat::tree::select_variant(
        &state.chat(),
        &Actor::from(&user),
        conversation,
        message,
        body.index,
    )
    .await?;
    Ok(web::Json(VariantSelected {
        message: selected.message,
        leaf_id: selected.leaf_id,
    }))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages/{message_id}/rerun", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path)), request_body = EditMessageRequest,
    responses((status = 202, body = SendMessageResponse, description = "the edited message starts a new branch; its reply job is enqueued"),
              (status = 403), (status = 404),
              (status = 409, description = "not an AI conversation, the message is deleted, or a reply is streaming"),
              (status = 422)))]
pub async fn rerun_message(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: platform::http::Json<EditMessageRequest>,
) -> Result<HttpResponse, ApiError> {
    let (conversation, message) = path_ids(path.into_inner());
    let outcome = chat::tree::rerun(
        &state.chat(),
        &Actor::from(&user),
        conversation,
        message,
        &body.content,
    )
    .await?;
    Ok(HttpResponse::Accepted().json(SendMessageResponse {
        message: outcome.message,
        job_id: outcome.job_id,
        reply: None,
    }))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages/{message_id}/continue", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), ("message_id" = i64, Path)),
    responses((status = 202, body = JobAccepted, description = "more text streams onto the reply (deltas carry the added text)"),
              (status = 403), (status = 404),
              (status = 409, description = "not the last AI reply, or a reply is streaming")))]
pub async fn continue_message(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (conversation, message) = path_ids(path.into_inner());
    let job_id = chat::generations::continue_reply(
        &state.chat(),
        &Actor::from(&user),
        conversation,
        message,
    )
    .await?;
    Ok(HttpResponse::Accepted().json(JobAccepted { job_id }))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/stop", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = StopRequest,
    responses((status = 202, body = JobAccepted), (status = 404), (status = 409, description = "no reply in progress")))]
pub async fn stop_generation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    let request: StopRequest = if body.iter().all(u8::is_ascii_whitespace) {
        StopRequest::default()
    } else {
        crate::routes::parse_json(&body)?
    };
    let job_id =
        chat::generations::stop(&state.chat(), &Actor::from(&user), id, request.job_id).await?;
    Ok(HttpResponse::Accepted().json(JobAccepted { job_id }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words to find (case-insensitive substring).
    pub q: String,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

async fn search(
    state: &AppState,
    viewer: domain::UserId,
    scope: db::messages::SearchScope,
    query: SearchQuery,
) -> Result<crate::routes::Page<MessageView>, ApiError> {
    let (limit, offset) = crate::routes::Page::<MessageView>::bounds(query.limit, query.offset)?;
    let q = domain::bounded_text("q", &query.q, 1, 200)?;
    let items = db::run(&state.db, move |c| {
        let rows = db::messages::search(c, scope, viewer, &q, limit, offset)?;
        let mut items = db::messages::views(c, &rows)?;
        db::messages::annotate(c, &mut items, Some(viewer))?;
        Ok(items)
    })
    .await?;
    Ok(crate::routes::Page::new(items, limit, offset))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages/search", tag = "messages", security(("bearer" = [])),
    params(("id" = i64, Path), SearchQuery), responses((status = 200, body = crate::routes::Page<MessageView>), (status = 404), (status = 422)))]
pub async fn search_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<SearchQuery>,
) -> Result<web::Json<crate::routes::Page<MessageView>>, ApiError> {
    let id = ConversationId(path.into_inner());
    chat::access::member_conversation(&state.chat(), id, user.id).await?;
    Ok(web::Json(
        search(
            &state,
            user.id,
            db::messages::SearchScope::Conversation(id),
            query.into_inner(),
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/messages/search", tag = "messages", security(("bearer" = [])),
    params(SearchQuery), responses((status = 200, body = crate::routes::Page<MessageView>), (status = 422)))]
pub async fn search_mine(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<web::Json<crate::routes::Page<MessageView>>, ApiError> {
    Ok(web::Json(
        search(
            &state,
            user.id,
            db::messages::SearchScope::MemberOf(user.id),
            query.into_inner(),
        )
        .await?,
    ))
}
