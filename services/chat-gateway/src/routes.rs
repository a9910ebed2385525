//! The gateway's URL table: `/ws` (the full protocol) and `/ws/{conversation_id}` (the simple
//! form). Everything that can be refused is refused before the upgrade, with the JSON error
//! body every service uses (401 bad/expired/revoked token, 404 stranger, 429 the user holds
//! `max_sockets_per_user` sockets here already, 503 draining or full).

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use domain::{ConversationId, ErrorCode};
use platform::upgrade::Takeover;
use platform::{ApiError, AuthUser};

use crate::connection::{Connection, Mode};
use crate::state::Gateway;

pub fn configure(cfg: &mut web::ServiceConfig, gateway: Arc<Gateway>) {
    cfg.app_data(web::Data::from(gateway))
        .route("/ws", web::get().to(connect))
        .route("/ws/{conversation_id}", web::get().to(connect_simple));
}

async fn authenticate(req: &HttpRequest, gw: &Gateway) -> Result<AuthUser, ApiError> {
    let token = platform::auth::bearer_token(req)
        .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    gw.auth.authenticate(&token).await
}

/// `GET /ws`: authenticate, upgrade, speak the full protocol.
async fn connect(req: HttpRequest, gw: web::Data<Gateway>) -> Result<HttpResponse, ApiError> {
    let user = authenticate(&req, &gw).await?;
    upgrade(&req, gw.into_inner(), user, Mode::Full)
}

/// `GET /ws/{conversation_id}`: authenticate, check membership, upgrade, auto-subscribe.
async fn connect_simple(
    req: HttpRequest,
    path: web::Path<i64>,
    gw: web::Data<Gateway>,
) -> Result<HttpResponse, ApiError> {
    let user = authenticate(&req, &gw).await?;
    let conversation = ConversationId(path.into_inner());
    chat::access::member_conversation(&gw.chat, conversation, user.id).await?;
    upgrade(&req, gw.into_inner(), user, Mode::Simple(conversation))
}

fn upgrade(
    req: &HttpRequest,
    gw: Arc<Gateway>,
    user: AuthUser,
    mode: Mode,
) -> Result<HttpResponse, ApiError> {
    if gw.is_shutting_down() {
        return Err(ApiError::unavailable("this replica is shutting down"));
    }
    if gw.hub.connection_count() >= gw.cfg.max_connections {
        return Err(ApiError::unavailable("this replica is full"));
    }
    // Taken before the handshake and moved into the socket: a refused or abandoned handshake
    // drops it, and the socket gives its place back only once its connection is closed.
    let open = gw.open_socket(user.id).map_err(|e| {
        ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "at most {} open sockets per user; close one before opening another",
                e.limit
            ),
        )
    })?;
    let mut response = actix_http::ws::handshake(req.head())
        .map_err(|e| ApiError::bad_request(format!("expected a WebSocket upgrade: {e}")))?
        .message_body(actix_web::body::BoxBody::new(()))
        .map_err(ApiError::internal)?;
    // The server writes the 101 and hands the bare connection to the socket (platform::upgrade).
    response
        .extensions_mut()
        .insert(Takeover::new(move |upgraded| {
            Connection::serve(gw, open, user, mode, upgraded)
        }));
    Ok(HttpResponse::from(response))
}
