//! The HTTP server every service runs: metrics middleware, `/health` `/ready` `/metrics`,
//! JSON errors for malformed input and unknown routes, graceful shutdown on SIGTERM.

use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{dev::Server, dev::ServerHandle, web, App, HttpServer};

use crate::{ops::Readiness, Settings};

/// A bound, not yet awaited server. `port()` tells tests which port 0 became.
pub struct RunningServer {
    port: u16,
    server: Server,
}

impl RunningServer {
    /// Binds `port` on the configured host and builds the app from the common parts plus the
    /// service's own routes in `routes`.
    pub fn bind<F>(
        settings: &Settings,
        port: u16,
        readiness: Readiness,
        routes: F,
    ) -> std::io::Result<Self>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let listener = crate::http::bind(&settings.http.host, port)?;
        let port = listener.local_addr()?.port();
        let body_limit = settings.http.body_limit_bytes;
        let service = readiness.service;
        let cors_origins = settings.http.cors_origins.clone();
        let any_origin = cors_origins.is_empty() && settings.is_development();
        crate::metrics::install();
        let mut server = HttpServer::new(move || {
            let routes = routes.clone();
            App::new()
                .wrap(ErrorHandlers::new().default_handler(crate::error::ensure_problem_body))
                .wrap(cors(&cors_origins, any_origin))
                .wrap(from_fn(crate::metrics::track_http))
                .configure(|cfg| crate::http::configure_common(cfg, readiness.clone(), body_limit))
                .configure(routes)
                .default_service(web::to(crate::error::not_found_route))
        })
        .listen(listener)?
        .shutdown_timeout(settings.http.shutdown_timeout_secs);
        if settings.http.workers > 0 {
            server = server.workers(settings.http.workers);
        }
        tracing::info!(service, port, "listening");
        Ok(Self {
            port,
            server: server.run(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT (or `handle().stop()`), then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// CORS from `http.cors_origins`; in development with none configured, any origin (the browser
/// client may run on another port), in production none but the listed ones.
fn cors(origins: &[String], any_origin: bool) -> actix_cors::Cors {
    let cors = actix_cors::Cors::default()
        .allow_any_method()
        .allow_any_header()
        .expose_headers(["Retry-After"])
        .max_age(3600);
    if any_origin {
        return cors.allow_any_origin();
    }
    origins
        .iter()
        .fold(cors, |cors, origin| cors.allowed_origin(origin))
}
