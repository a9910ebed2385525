//! Accounts: register, login (JSON or OAuth2 password form), refresh with rotation and reuse
//! detection, logout, me.

use std::time::Duration;

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use chrono::Utc;
use domain::events::UserEvent;
use domain::{Email, Password, UserId, Username};
use platform::{ApiError, AuthUser};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::users::UserView;
use crate::{rate_limit, security, state::AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–32 letters, digits, `_`, `.`, `-`.
    pub username: String,
    pub email: String,
    /// 8–128 characters with a letter and a digit.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username or e-mail address.
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// Also revoke this refresh token's family (this device's session).
    #[serde(default)]
    pub refresh_token: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: UserView,
}

/// Issues an access token and a new refresh token in `family` (a new family at login).
async fn issue_tokens(
    state: &AppState,
    user: db::users::UserRow,
    family: Option<String>,
) -> Result<TokenResponse, ApiError> {
    let family = family.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let access = state
        .jwt
        .issue_in_session(user.id, &user.username, user.role, &family)?;
    let (refresh, hash) = security::new_refresh_token();
    let expires_at = db::now() + chrono::Duration::seconds(state.settings.auth.refresh_ttl_secs);
    let row = db::refresh_tokens::NewRefreshTokenRow {
        user_id: user.id,
        token_hash: hash,
        family_id: family,
        expires_at,
    };
    db::run(&state.db, move |c| db::refresh_tokens::insert(c, row)).await?;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: refresh,
        user: UserView::private(&user),
    })
}

#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = TokenResponse), (status = 409, description = "username or e-mail taken"),
              (status = 422, description = "invalid input"), (status = 429, description = "rate limited")))]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: platform::http::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let limits = &state.settings.rate_limit;
    let ip = rate_limit::client_ip(&req, &state);
    rate_limit::enforce(
        &state.bus,
        &format!("register:ip:{ip}"),
        limits.register_per_hour,
        Duration::from_secs(3600),
    )
    .await?;
    let body = body.into_inner();
    let username = Username::parse(&body.username)?;
    let email = Email::parse(&body.email)?;
    let password = Password::parse(&body.password)?;
    let hash = security::hash_password(
        password.expose().to_owned(),
        state.settings.auth.bcrypt_cost,
    )
    .await?;
    let new = db::users::NewUserRow::new(username.as_str(), email.as_str(), &hash);
    let user = db::run(&state.db, move |c| db::users::insert(c, new))
        .await
        .map_err(|e| match e {
            e if e.is_conflict_on("username") => ApiError::conflict("username is already taken"),
            e if e.is_conflict_on("email") => {
                ApiError::conflict("e-mail address is already registered")
            }
            e => e.into(),
        })?;
    let tokens = issue_tokens(&state, user, None).await?;
    Ok(HttpResponse::Created().json(tokens))
}

/// Reads the login body as JSON or as `application/x-www-form-urlencoded`.
fn parse_login(req: &HttpRequest, body: &[u8]) -> Result<LoginRequest, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        parse_form(body)
    } else if content_type.starts_with("application/json") {
        crate::routes::parse_json(body)
    } else {
        Err(ApiError::new(
            domain::ErrorCode::UnsupportedMediaType,
            "send application/json or application/x-www-form-urlencoded",
        ))
    }
}

/// Parses an `application/x-www-form-urlencoded` body.
fn parse_form(body: &[u8]) -> Result<LoginRequest, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad_request("body is not UTF-8"))?;
    web::Query::<LoginRequest>::from_query(text)
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::validation("body", e.to_string()))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body(content = LoginRequest,
    description = "JSON, or the OAuth2 password form `username=…&password=…`",
    content_type = "application/json"),
    responses((status = 200, body = TokenResponse), (status = 401, description = "wrong credentials"),
              (status = 403, description = "account deactivated"), (status = 429, description = "rate limited")))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let login = parse_login(&req, &body)?;
    let limits = &state.settings.rate_limit;
    let ip = rate_limit::client_ip(&req, &state);
    let minute = Duration::from_secs(60);
    rate_limit::enforce(
        &state.bus,
        &format!("login:ip:{ip}"),
        limits.login_per_minute.saturating_mul(3),
        minute,
    )
    .await?;
    let account_key = format!("login:account:{}", login.username.trim().to_lowercase());
    rate_limit::enforce(&state.bus, &account_key, limits.login_per_minute, minute).await?;

    let name = login.username.trim().to_owned();
    let user = db::run(&state.db, move |c| db::users::find_by_login(c, &name)).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok =
        security::verify_password(login.password, hash, state.settings.auth.bcrypt_cost).await?;
    let user = match user {
        Some(user) if ok => user,
        _ => return Err(ApiError::unauthorized("wrong username or password")),
    };
    if !user.is_active {
        return Err(ApiError::forbidden("this account is deactivated"));
    }
    let id = user.id;
    db::run(&state.db, move |c| {
        db::users::touch_last_active(c, id, db::now())
    })
    .await?;
    Ok(HttpResponse::Ok().json(issue_tokens(&state, user, None).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, description = "invalid, expired or reused token")))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: platform::http::Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let hash = security::hash_refresh_token(body.refresh_token.trim());
    let invalid = || ApiError::unauthorized("invalid refresh token");
    let row = db::run(&state.db, move |c| {
        db::refresh_tokens::find_by_hash(c, &hash)
    })
    .await?
    .ok_or_else(invalid)?;
    if row.revoked_at.is_some() || row.expires_at <= db::now() {
        return Err(invalid());
    }
    let row_id = row.id;
    let won = db::run(&state.db, move |c| {
        db::refresh_tokens::mark_used(c, row_id, db::now())
    })
    .await?;
    if !won {
        // A used token came back: it was stolen or replayed. Revoke the whole family so neither
        // party keeps a session.
        let family = row.family_id.clone();
        db::run(&state.db, move |c| {
            db::refresh_tokens::revoke_family(c, &family, db::now())
        })
        .await?;
        end_session(&state, row.user_id, &row.family_id).await?;
        tracing::warn!(user_id = %row.user_id, "refresh token reuse detected; family revoked");
        return Err(ApiError::unauthorized(
            "refresh token was already used; session revoked",
        ));
    }
    let user_id = row.user_id;
    let user = db::run(&state.db, move |c| db::users::find(c, user_id)).await?;
    if !user.is_active {
        return Err(ApiError::forbidden("this account is deactivated"));
    }
    Ok(HttpResponse::Ok().json(issue_tokens(&state, user, Some(row.family_id)).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = LogoutRequest,
    security(("bearer" = [])), responses((status = 204), (status = 401)))]
pub async fn logout(
    user: AuthUser,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: LogoutRequest = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutRequest::default()
    } else {
        crate::routes::parse_json(&body)?
    };
    let remaining = (user.expires_at - Utc::now().timestamp()).max(1) as u64;
    state
        .bus
        .revoke_jti(&user.jti, Duration::from_secs(remaining))
        .await?;
    if let Some(session) = &user.session {
        let (family, owner) = (session.clone(), user.id);
        db::run(&state.db, move |c| {
            db::refresh_tokens::revoke_family_of(c, owner, &family, db::now())
        })
        .await?;
        end_session(&state, user.id, session).await?;
    }
    if let Some(token) = body.refresh_token {
        let hash = security::hash_refresh_token(token.trim());
        let owner = user.id;
        db::run(&state.db, move |c| {
            if let Some(row) = db::refresh_tokens::find_by_hash(c, &hash)? {
                if row.user_id == owner {
                    db::refresh_tokens::revoke_family(c, &row.family_id, db::now())?;
                }
            }
            Ok(())
        })
        .await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Ends a session everywhere at once: its access tokens are refused from now on (for as long
/// as one of them could live) and the gateways close the sockets opened with them (4401).
async fn end_session(state: &AppState, user: UserId, session: &str) -> Result<(), ApiError> {
    let lifetime = Duration::from_secs(state.settings.auth.access_ttl_secs.max(1) as u64 + 60);
    state.bus.revoke_session(session, lifetime).await?;
    state
        .bus
        .publish_user(
            user,
            &UserEvent::SessionEnded {
                session_id: session.to_owned(),
            },
        )
        .await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401)))]
pub async fn me(
    user: AuthUser,
    state: web::Data<AppState>,
) -> Result<web::Json<UserView>, ApiError> {
    let id = user.id;
    let row = db::run(&state.db, move |c| db::users::find(c, id)).await?;
    Ok(web::Json(UserView::private(&row)))
}
