//! Users as admins see them: search/sort/page with this month's usage, one user's details, and
//! deactivation / role changes that take effect at once (tokens and sockets included).

use actix_web::{web, HttpRequest};
use chrono::{DateTime, Utc};
use db::stats::{UserFilter, UserListing, UserSort, UserTotals};
use domain::events::UserEvent;
use domain::{Role, UserId};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{admin, page_bounds, path_id, query, utc};
use crate::state::AppState;

/// A user in the admin list, with their usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub display_name: String,
    /// `user` or `admin`.
    pub role: String,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    /// Last login or message, whichever is later.
    pub last_active_at: Option<DateTime<Utc>>,
    /// Messages the user sent plus AI replies they received, all time.
    pub message_count: i64,
    /// Messages the user sent this month (UTC).
    pub messages_month: i64,
    /// Prompt + completion tokens this month (UTC).
    pub tokens_month: i64,
}

impl AdminUserView {
    fn new(row: &UserListing, all_time: Option<&UserTotals>) -> Self {
        Self {
            id: row.id.0,
            username: row.username.clone(),
            email: row.email.clone(),
            display_name: row.display_name.clone(),
            role: row.role.as_str().to_owned(),
            is_active: row.is_active,
            created_at: utc(row.created_at),
            last_active_at: row.last_active_at.map(utc),
            message_count: all_time.map_or(0, |t| t.messages + t.replies),
            messages_month: row.month.messages,
            tokens_month: row.month.total_tokens(),
        }
    }
}

/// Counters of a user over some period.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageTotalsView {
    pub messages: i64,
    pub replies: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
}

impl From<UserTotals> for UsageTotalsView {
    fn from(t: UserTotals) -> Self {
        Self {
            messages: t.messages,
            replies: t.replies,
            prompt_tokens: t.prompt_tokens,
            completion_tokens: t.completion_tokens,
            total_tokens: t.total_tokens(),
        }
    }
}

/// One user in detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserDetail {
    #[serde(flatten)]
    pub user: AdminUserView,
    pub bio: String,
    pub avatar_url: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Conversations the user is a member of.
    pub conversations: i64,
    pub this_month: UsageTotalsView,
    pub all_time: UsageTotalsView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserPage {
    pub items: Vec<AdminUserView>,
    /// How many users match, over all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListUsersQuery {
    /// Case-insensitive substring of the username, email or display name.
    pub q: Option<String>,
    /// `created_at` (default), `username`, `last_active_at`, `tokens_month` or `messages_month`.
    #[param(pattern = "^(created_at|username|last_active_at|tokens_month|messages_month)$")]
    pub sort: Option<String>,
    /// `asc` or `desc` (default `desc`; `asc` for `username`).
    #[param(pattern = "^(asc|desc)$")]
    pub order: Option<String>,
    /// `user` or `admin`.
    #[param(pattern = "^(user|admin)$")]
    pub role: Option<String>,
    pub is_active: Option<bool>,
    /// 1–100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// `false` deactivates: the user's access and refresh tokens stop working at once and their
    /// open WebSockets are closed. `true` reactivates (they log in again).
    pub is_active: Option<bool>,
    /// `user` or `admin`. Demoting also revokes the user's access tokens so the old role is not
    /// used any longer.
    pub role: Option<String>,
}

fn parse_role(field: &str, value: &str) -> Result<Role, ApiError> {
    value
        .parse::<Role>()
        .map_err(|_| ApiError::validation(field, "must be `user` or `admin`"))
}

fn parse_sort(sort: Option<&str>, order: Option<&str>) -> Result<(UserSort, bool), ApiError> {
    let sort =
        match sort.unwrap_or("created_at") {
            "created_at" => UserSort::CreatedAt,
            "username" => UserSort::Username,
            "last_active_at" => UserSort::LastActiveAt,
            "tokens_month" => UserSort::TokensMonth,
            "messages_month" => UserSort::MessagesMonth,
            _ => return Err(ApiError::validation(
                "sort",
                "must be one of created_at, username, last_active_at, tokens_month, messages_month",
            )),
        };
    let descending = match order {
        None => sort != UserSort::Username,
        Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(ApiError::validation("order", "must be `asc` or `desc`")),
    };
    Ok((sort, descending))
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin-users", security(("bearer" = [])),
    params(ListUsersQuery),
    responses((status = 200, body = AdminUserPage), (status = 401), (status = 403), (status = 422)))]
pub async fn list_users(
    user: AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<AdminUserPage>, ApiError> {
    admin(&user)?;
    let q: ListUsersQuery = query(&req)?;
    let (limit, offset) = page_bounds(q.limit, q.offset)?;
    let (sort, descending) = parse_sort(q.sort.as_deref(), q.order.as_deref())?;
    let search = q.q.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if search.as_ref().is_some_and(|s| s.chars().count() > 100) {
        return Err(ApiError::validation("q", "must be at most 100 characters"));
    }
    let filter = UserFilter {
        search,
        role: q
            .role
            .as_deref()
            .map(|r| parse_role("role", r))
            .transpose()?,
        is_active: q.is_active,
    };
    let month = db::stats::month_start(Utc::now().date_naive());
    let (rows, total, totals) = db::run(&state.db, move |c| {
        let rows = db::stats::list_users(c, &filter, sort, descending, month, limit, offset)?;
        let total = db::stats::count_users(c, &filter)?;
        let ids: Vec<UserId> = rows.iter().map(|r| r.id).collect();
        let totals = db::stats::user_totals(c, &ids)?;
        Ok((rows, total, totals))
    })
    .await?;
    Ok(web::Json(AdminUserPage {
        items: rows
            .iter()
            .map(|r| AdminUserView::new(r, totals.get(&r.id)))
            .collect(),
        total,
        limit,
        offset,
    }))
}

async fn load_detail(state: &AppState, id: UserId) -> Result<AdminUserDetail, ApiError> {
    let month = db::stats::month_start(Utc::now().date_naive());
    let (row, this_month, all_time, conversations) = db::run(&state.db, move |c| {
        let row = db::users::find(c, id)?;
        let this_month = db::stats::user_month(c, id, month)?;
        let all_time = db::stats::user_totals(c, &[id])?
            .remove(&id)
            .unwrap_or_default();
        let conversations = db::stats::conversation_count(c, id)?;
        Ok((row, this_month, all_time, conversations))
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ApiError::not_found("user not found"),
        other => other.into(),
    })?;
    let listing = UserListing {
        id: row.id,
        username: row.username.clone(),
        email: row.email.clone(),
        display_name: row.display_name.clone(),
        role: row.role,
        is_active: row.is_active,
        created_at: row.created_at,
        last_active_at: row.last_active_at,
        month: this_month,
    };
    Ok(AdminUserDetail {
        user: AdminUserView::new(&listing, Some(&all_time)),
        bio: row.bio,
        avatar_url: row.avatar_url,
        updated_at: utc(row.updated_at),
        conversations,
        this_month: this_month.into(),
        all_time: all_time.into(),
    })
}

#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin-users", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = AdminUserDetail), (status = 401), (status = 403), (status = 404)))]
pub async fn get_user(
    user: AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<AdminUserDetail>, ApiError> {
    admin(&user)?;
    let id = UserId(path_id(&req, "id")?);
    Ok(web::Json(load_detail(&state, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin-users", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = AdminUserDetail), (status = 401),
              (status = 403, description = "not an admin, or an admin deactivating or demoting themself"),
              (status = 404), (status = 422)))]
pub async fn update_user(
    user: AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<AdminUserDetail>, ApiError> {
    admin(&user)?;
    let id = UserId(path_id(&req, "id")?);
    let body: UpdateUserRequest = parse_json(&body)?;
    let role = body
        .role
        .as_deref()
        .map(|r| parse_role("role", r))
        .transpose()?;
    let is_active = body.is_active;
    if role.is_none() && is_active.is_none() {
        return Err(ApiError::validation(
            "body",
            "give `is_active` and/or `role`",
        ));
    }
    if id == user.id && (is_active == Some(false) || role == Some(Role::User)) {
        return Err(ApiError::forbidden(
            "admins cannot deactivate or demote themselves",
        ));
    }
    let revoke_sessions = db::run(&state.db, move |c| {
        db::transaction(c, |c| {
            let before = db::users::find(c, id)?;
            if let Some(active) = is_active {
                db::users::set_active(c, id, active)?;
                if !active {
                    db::refresh_tokens::revoke_all_for_user(c, id, db::now())?;
                }
            }
            if let Some(role) = role {
                db::users::set_role(c, id, role)?;
            }
            let demoted = before.role == Role::Admin && role == Some(Role::User);
            Ok(is_active == Some(false) || demoted)
        })
    })
    .await
    .map_err(|e| match e {
        db::DbError::NotFound => ApiError::not_found("user not found"),
        other => other.into(),
    })?;
    if revoke_sessions {
        // Every access token issued until now stops working on every replica, and the user's
        // sockets are told to close.
        state.bus.revoke_user_tokens_before(id, Utc::now()).await?;
        state
            .bus
            .publish_user(id, &UserEvent::SessionRevoked)
            .await?;
        tracing::info!(admin = %user.id, user = %id, ?is_active, ?role, "user sessions revoked");
    }
    Ok(web::Json(load_detail(&state, id).await?))
}

/// A JSON body read as bytes (so authentication runs first), with the extractor's error mapping.
fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ApiError::validation("body", e.to_string())
        } else {
            ApiError::bad_request(format!("malformed JSON: {e}"))
        }
    })
}
