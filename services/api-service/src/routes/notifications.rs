//! The inbox (issue 19): a page of notifications with the unread count, the count alone (for
//! a badge), and marking read.

use actix_web::web;
use chat::Actor;
use domain::notifications::NotificationView;
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::state::AppState;

const DEFAULT_PAGE: i64 = 20;
const MAX_PAGE: i64 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Notifications older than this id (the next page).
    pub before: Option<i64>,
    /// 1–100, default 20.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxPage {
    /// Newest first.
    pub items: Vec<NotificationView>,
    pub unread_count: i64,
    pub has_more: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread_count: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkNotificationsRead {
    /// These notifications (1–100 ids) …
    pub ids: Option<Vec<i64>>,
    /// … or, with `true`, all of them.
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    /// How many changed from unread to read.
    pub marked: usize,
    pub unread_count: i64,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", security(("bearer" = [])),
    params(InboxQuery), responses((status = 200, body = InboxPage), (status = 422)))]
pub async fn list_notifications(
    user: AuthUser,
    state: web::Data<AppState>,
    query: web::Query<InboxQuery>,
) -> Result<web::Json<InboxPage>, ApiError> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    let inbox =
        chat::notifications::list(&state.chat(), &Actor::from(&user), q.before, limit).await?;
    Ok(web::Json(InboxPage {
        items: inbox.items,
        unread_count: inbox.unread_count,
        has_more: inbox.has_more,
    }))
}

#[utoipa::path(get, path = "/api/v1/notifications/unread_count", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = UnreadCount)))]
pub async fn unread_notifications(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<UnreadCount>, ApiError> {
    let unread_count =
        chat::notifications::unread_count(&state.chat(), &Actor::from(&user)).await?;
    Ok(web::Json(UnreadCount { unread_count }))
}

#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", security(("bearer" = [])),
    request_body = MarkNotificationsRead,
    responses((status = 200, body = MarkedRead, description = "others' ids change nothing"), (status = 422)))]
pub async fn mark_notifications_read(
    user: AuthUser,
    state: web::Data<AppState>,
    body: platform::http::Json<MarkNotificationsRead>,
) -> Result<web::Json<MarkedRead>, ApiError> {
    let body = body.into_inner();
    let ids = match (body.ids, body.all) {
        (Some(_), true) | (None, false) => {
            return Err(ApiError::validation(
                "ids",
                "give either ids or \"all\": true",
            ))
        }
        (ids, _) => ids,
    };
    let actor = Actor::from(&user);
    let marked = chat::notifications::mark_read(&state.chat(), &actor, ids).await?;
    let unread_count = chat::notifications::unread_count(&state.chat(), &actor).await?;
    Ok(web::Json(MarkedRead {
        marked,
        unread_count,
    }))
}
