//! Redis-backed rate limits (they hold across replicas), answered 429 with `Retry-After`.

use actix_web::HttpRequest;

pub use platform::rate_limit::enforce;

/// The client address used for per-IP limits. Behind the reverse proxy this is the first
/// `X-Forwarded-For`/`Forwarded` hop; per-account limits still hold if a client forges it.
pub fn client_ip(req: &HttpRequest) -> String {
    req.connection_info()
        .realip_remote_addr()
        .unwrap_or("unknown")
        .to_owned()
}
