//! Conversations: create an AI chat with a character (its greetings become the first turn's
//! variants), branch one from a message,
//! list mine with the last message and unread count, get, rename, delete, mark read.

use actix_web::{web, HttpResponse};
use db::conversations::{ListSection, NewConversationRow};
use db::members::ListChange;
use domain::{
    bounded_text_opt, ConversationId, ConversationKind, MemberRole, MessageId, ValidationError,
    Visibility,
};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::Page;
use crate::state::AppState;

pub use crate::routes::conversation_views::{ConversationView, CreateConversationRequest};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConversationRequest {
    pub title: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    #[schema(value_type = i64)]
    pub message_id: MessageId,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConversationListQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// `true`: the caller's archived conversations instead of the main list.
    pub archived: Option<bool>,
}

/// `{{char}}` and `{{user}}` as character cards use them.
pub fn substitute(text: &str, character: &str, user: &str) -> String {
    text.replace("{{char}}", character)
        .replace("{{user}}", user)
}

async fn create_ai_chat(
    state: &AppState,
    user: &AuthUser,
    body: CreateConversationRequest,
) -> Result<ConversationView, ApiError> {
    let character_id = body
        .character_id
        .ok_or_else(|| ValidationError::new("character_id", "an ai_chat needs a character"))?;
    let title = bounded_text_opt("title", body.title.as_deref(), 1, 100)?;
    let description = bounded_text_opt("description", body.description.as_deref(), 0, 1000)?;
    let owner = user.id;
    let admin = user.is_admin();
    let username = user.username.clone();
    let row = db::run(&state.db, move |c| {
        let character = db::characters::find(c, character_id)?;
        if character.owner_id != owner && character.visibility != Visibility::Public && !admin {
            return Err(db::DbError::NotFound);
        }
        db::transaction(c, |c| {
            let conversation = db::conversations::insert_with_members(
                c,
                NewConversationRow {
                    kind: ConversationKind::AiChat,
                    title: title.unwrap_or_else(|| character.name.clone()),
                    description: description.unwrap_or_default(),
                    character_id: Some(character.id),
                    server_id: None,
                    owner_id: Some(owner),
                    visibility: Visibility::Private,
                    member_limit: 1,
                    direct_key: None,
                    position: 0,
                },
                &[(owner, MemberRole::Owner)],
            )?;
            // The card's greeting and its alternates open the chat as sibling first turns the
            // user swipes through (issue 15).
            let greetings = std::iter::once(&character.greeting)
                .chain(character.alternate_greetings.iter())
                .map(|g| substitute(g, &character.name, &username))
                .collect();
            chat::tree::store_greetings(c, conversation.id, &character, greetings)?;
            db::conversations::find(c, conversation.id)
        })
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ValidationError::new("character_id", "no such character").into(),
        other => ApiError::from(other),
    })?;
    Ok(ConversationView::new(&row, Some(MemberRole::Owner)))
}

#[utoipa::path(post, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])),
    request_body = CreateConversationRequest,
    responses((status = 201, body = ConversationView), (status = 401), (status = 422)))]
pub async fn create_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<CreateConversationRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let view = match body.kind {
        ConversationKind::AiChat => create_ai_chat(&state, &user, body).await?,
        ConversationKind::Direct | ConversationKind::Group => {
            return crate::routes::social::create_human_conversation(&state, &user, body).await
        }
        ConversationKind::Channel => {
            return Err(ValidationError::new(
                "kind",
                "channels are created under /servers/{id}/channels",
            )
            .into())
        }
    };
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", security(("bearer" = [])),
    params(ConversationListQuery), responses((status = 200, body = Page<ConversationView>), (status = 401)))]
pub async fn list_conversations(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<ConversationListQuery>,
) -> Result<web::Json<Page<ConversationView>>, ApiError> {
    let (limit, offset) = Page::<ConversationView>::bounds(query.limit, query.offset)?;
    let me = user.id;
    let section = if query.archived == Some(true) {
        ListSection::Archived
    } else {
        ListSection::Main
    };
    let summaries = db::run(&state.db, move |c| {
        db::conversations::list_for_user(c, me, section, limit, offset)
    })
    .await?;
    Ok(web::Json(Page::new(
        summaries
            .iter()
            .map(ConversationView::from_summary)
            .collect(),
        limit,
        offset,
    )))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ConversationView), (status = 404)))]
pub async fn get_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<ConversationView>, ApiError> {
    let (row, member) = chat::access::member_conversation(
        &state.chat(),
        ConversationId(path.into_inner()),
        user.id,
    )
    .await?;
    let mut view = ConversationView::new(&row, Some(member.role));
    view.pinned = member.pinned_at.is_some();
    view.archived = member.archived_at.is_some();
    Ok(web::Json(view))
}

#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = UpdateConversationRequest,
    responses((status = 200, body = ConversationView), (status = 403), (status = 404), (status = 422)))]
pub async fn update_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<UpdateConversationRequest>,
) -> Result<web::Json<ConversationView>, ApiError> {
    let body = body.into_inner();
    let edit = chat::conversations::ConversationEdit {
        title: body.title,
        description: body.description,
    };
    let id = ConversationId(path.into_inner());
    let (row, role) =
        chat::conversations::update(&state.chat(), &chat::Actor::from(&user), id, edit).await?;
    Ok(web::Json(ConversationView::new(&row, Some(role))))
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    chat::conversations::delete(&state.chat(), &chat::Actor::from(&user), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/read", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = MarkReadRequest, responses((status = 204), (status = 404), (status = 422)))]
pub async fn mark_read(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<MarkReadRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    let actor = chat::Actor::from(&user);
    chat::conversations::mark_read(&state.chat(), &actor, id, body.message_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Where a conversation sits in the caller's own list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListStateView {
    pub pinned: bool,
    pub archived: bool,
}

async fn arrange(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    change: ListChange,
) -> Result<web::Json<ListStateView>, ApiError> {
    let id = ConversationId(path.into_inner());
    let member =
        chat::conversations::arrange(&state.chat(), &chat::Actor::from(&user), id, change).await?;
    Ok(web::Json(ListStateView {
        pinned: member.pinned_at.is_some(),
        archived: member.archived_at.is_some(),
    }))
}

/// Pins the conversation to the top of the caller's list (and out of their archive).
#[utoipa::path(put, path = "/api/v1/conversations/{id}/pin", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ListStateView), (status = 404), (status = 409), (status = 422)))]
pub async fn pin_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<ListStateView>, ApiError> {
    arrange(user, state, path, ListChange::Pin).await
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}/pin", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ListStateView), (status = 404), (status = 422)))]
pub async fn unpin_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<ListStateView>, ApiError> {
    arrange(user, state, path, ListChange::Unpin).await
}

/// Moves the conversation out of the caller's main list (and unpins it).
#[utoipa::path(put, path = "/api/v1/conversations/{id}/archive", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ListStateView), (status = 404), (status = 422)))]
pub async fn archive_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<ListStateView>, ApiError> {
    arrange(user, state, path, ListChange::Archive).await
}

#[utoipa::path(delete, path = "/api/v1/conversations/{id}/archive", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, body = ListStateView), (status = 404), (status = 422)))]
pub async fn unarchive_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<ListStateView>, ApiError> {
    arrange(user, state, path, ListChange::Unarchive).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchRequest {
    /// The message the copy ends with; the active path up to it is copied.
    #[schema(value_type = i64)]
    pub message_id: MessageId,
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/branch", tag = "conversations", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = BranchRequest,
    responses((status = 201, body = ConversationView, description = "the new conversation, with its origin"),
              (status = 401), (status = 404),
              (status = 409, description = "not an AI conversation, or the message is deleted or still streaming"),
              (status = 422)))]
pub async fn branch_conversation(
    user: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: platform::http::Json<BranchRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = ConversationId(path.into_inner());
    let row = chat::tree::branch(
        &state.chat(),
        &chat::Actor::from(&user),
        id,
        body.message_id,
    )
    .await?;
    Ok(HttpResponse::Created().json(ConversationView::new(&row, Some(MemberRole::Owner))))
}
