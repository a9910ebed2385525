//! Extractor configuration every service registers, so malformed input anywhere gets our JSON
//! error body and body limits hold.

use actix_web::web;

use crate::error;

pub fn configure_extractors(cfg: &mut web::ServiceConfig, body_limit: usize) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(body_limit)
            .error_handler(error::json_error),
    )
    .app_data(web::QueryConfig::default().error_handler(error::query_error))
    .app_data(web::PathConfig::default().error_handler(error::path_error))
    .app_data(
        web::FormConfig::default()
            .limit(body_limit)
            .error_handler(error::form_error),
    )
    .app_data(web::PayloadConfig::new(body_limit));
}

/// The routes and app data every service registers: `/health`, `/ready`, `/metrics`, the
/// readiness probes and the extractor error handlers.
pub fn configure_common(
    cfg: &mut web::ServiceConfig,
    readiness: crate::ops::Readiness,
    body_limit: usize,
) {
    configure_extractors(cfg, body_limit);
    cfg.app_data(web::Data::new(readiness));
    crate::ops::configure(cfg);
}

/// Binds the service's listening socket. Port 0 picks a free port (tests).
pub fn bind(host: &str, port: u16) -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind((host, port))
}
