//! Redis-backed rate limits (they hold across replicas), answered 429 with `Retry-After`.

use actix_web::HttpRequest;

pub use platform::rate_limit::enforce;

/// The client address used for per-IP limits: the peer, or behind a configured proxy
/// (`APP__HTTP__TRUSTED_PROXIES`) the client it names.
pub fn client_ip(req: &HttpRequest, state: &crate::state::AppState) -> String {
    state.trusted_proxies.client_ip(req)
}
