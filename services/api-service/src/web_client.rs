//! The single-page web client api-service serves at `/`: its files, `index.html` for
//! client-side routes, and the headers a public web app needs — a Content-Security-Policy
//! (scripts only from this origin; no framing), `X-Content-Type-Options`, compression (brotli
//! or gzip, as the browser accepts) and long-lived caching of the content-hashed bundle files.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Compress, Next};
use actix_web::{web, Error};

/// Vite names every file under `assets/` after a hash of its content: a new build gets new
/// names, so these may be cached for good. Everything else (index.html) is revalidated.
const HASHED_ASSETS: &str = "/assets/";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The ports of the gateway and admin-stats on the page's own host, which the client calls
/// when it is served straight from api-service (`make run`), not behind the reverse proxy.
#[derive(Clone, Copy)]
pub struct SiblingPorts {
    pub gateway: u16,
    pub admin: u16,
}

/// Registers the client under `/` (after every other route: API paths never reach it).
pub fn configure(cfg: &mut web::ServiceConfig, dir: &std::path::Path, ports: SiblingPorts) {
    cfg.service(
        web::scope("")
            .wrap(Compress::default())
            .wrap(actix_web::middleware::from_fn(move |req, next| {
                headers(req, next, ports)
            }))
            .service(files(dir)),
    );
}

fn files(dir: &std::path::Path) -> actix_files::Files {
    let index = dir.join("index.html");
    actix_files::Files::new("/", dir)
        .index_file("index.html")
        .default_handler(actix_web::dev::fn_service(move |req: ServiceRequest| {
            let index = index.clone();
            async move {
                let (req, _) = req.into_parts();
                let file = actix_files::NamedFile::open_async(index).await?;
                let response = file.into_response(&req);
                Ok(ServiceResponse::new(req, response))
            }
        }))
}

async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
    ports: SiblingPorts,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let hashed = req.path().starts_with(HASHED_ASSETS);
    let csp = content_security_policy(&req, ports);
    let mut res = next.call(req).await?;
    let cache = if hashed && res.status().is_success() {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(res)
}

/// Scripts, fonts and frames only from this origin; styles also inline (React style
/// attributes); images also from https and data URLs (avatars). The client talks to this
/// origin and to the gateway and admin-stats on the same host.
fn content_security_policy(req: &ServiceRequest, ports: SiblingPorts) -> String {
    let info = req.connection_info();
    let secure = info.scheme() == "https";
    // The host name only (`[::1]` keeps its brackets); the port is the sibling's.
    let host = info.host();
    let hostname = match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    };
    let (http, ws) = if secure {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    let siblings = format!(
        "{ws}://{host} {ws}://{hostname}:{gw} {http}://{hostname}:{admin}",
        gw = ports.gateway,
        admin = ports.admin,
    );
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob: https:; font-src 'self' data:; connect-src 'self' {siblings}; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}
