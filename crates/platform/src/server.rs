//! The HTTP server every service runs: metrics middleware, `/health` `/ready` `/metrics`,
//! JSON errors for malformed input and unknown routes, graceful shutdown on SIGTERM.

use std::rc::Rc;
use std::time::Duration;

use actix_http::HttpService;
use actix_service::{map_config, IntoServiceFactory};
use actix_web::body::MessageBody;
use actix_web::dev::{
    fn_factory, fn_service, AppConfig, Server, ServerHandle, ServiceFactory, ServiceRequest,
    ServiceResponse,
};
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App, HttpServer};

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
        let (listener, port) = listen(settings, port)?;
        let service = readiness.service;
        let parts = AppParts::new(settings, readiness, routes);
        let mut server = HttpServer::new(move || parts.app())
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

    /// Like [`bind`](Self::bind), and upgrade requests (`Connection: Upgrade`) go through the
    /// same app; a `101` answer carrying a [`Takeover`](crate::upgrade::Takeover) gets the bare
    /// connection (see [`crate::upgrade`]: what that saves, per socket). It does not listen for
    /// signals: the caller stops it (after draining its sockets) with `handle().stop()`.
    pub fn bind_upgradable<F>(
        settings: &Settings,
        port: u16,
        readiness: Readiness,
        routes: F,
    ) -> std::io::Result<Self>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let (listener, port) = listen(settings, port)?;
        let service = readiness.service;
        let parts = AppParts::new(settings, readiness, routes);
        let mut builder = Server::build()
            .listen(service, listener, move || {
                let for_upgrades = parts.clone();
                let upgrade = fn_factory(move || {
                    let app = map_config(for_upgrades.app(), |_| AppConfig::default())
                        .into_factory()
                        .new_service(());
                    async move {
                        let app = Rc::new(app.await?);
                        Ok::<_, ()>(fn_service(move |(req, framed)| {
                            crate::upgrade::serve(app.clone(), req, framed)
                        }))
                    }
                });
                // The settings `HttpServer` would use (its defaults), plus the upgrade path.
                HttpService::build()
                    .client_disconnect_timeout(Duration::from_secs(1))
                    .upgrade(upgrade)
                    .finish(map_config(parts.app(), |_| AppConfig::default()))
                    .tcp()
            })?
            .shutdown_timeout(settings.http.shutdown_timeout_secs)
            // The owner of the upgraded sockets handles SIGTERM: it must close and drain them
            // before the workers stop (the server does not count them as connections).
            .disable_signals();
        if settings.http.workers > 0 {
            builder = builder.workers(settings.http.workers);
        }
        tracing::info!(service, port, "listening");
        Ok(Self {
            port,
            server: builder.run(),
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

/// The listening socket on the configured host, and the port it got (tests bind port 0).
fn listen(settings: &Settings, port: u16) -> std::io::Result<(std::net::TcpListener, u16)> {
    let listener = crate::http::bind(&settings.http.host, port)?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

/// What every service's app is made of; `app()` builds one per server worker.
#[derive(Clone)]
struct AppParts<F> {
    routes: F,
    readiness: Readiness,
    body_limit: usize,
    cors_origins: Vec<String>,
    metrics_token: crate::ops::MetricsToken,
}

impl<F> AppParts<F>
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    fn new(settings: &Settings, readiness: Readiness, routes: F) -> Self {
        crate::metrics::install();
        Self {
            routes,
            readiness,
            body_limit: settings.http.body_limit_bytes,
            cors_origins: allowed_origins(settings),
            metrics_token: crate::ops::MetricsToken::new(&settings.http.metrics_token),
        }
    }

    fn app(
        &self,
    ) -> App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<impl MessageBody + 'static>,
            Error = actix_web::Error,
            InitError = (),
        >,
    > {
        let (readiness, body_limit) = (self.readiness.clone(), self.body_limit);
        App::new()
            .wrap(ErrorHandlers::new().default_handler(crate::error::ensure_problem_body))
            .wrap(cors(&self.cors_origins))
            .wrap(from_fn(crate::metrics::track_http))
            .wrap(from_fn(crate::metrics::request_span))
            .app_data(web::Data::new(self.metrics_token.clone()))
            // Before the service's routes, so they may set a default of their own
            // (`ServiceConfig::default_service`, e.g. 405 for known paths).
            .default_service(web::to(crate::error::not_found_route))
            .configure(|cfg| crate::http::configure_common(cfg, readiness, body_limit))
            .configure(self.routes.clone())
    }
}

/// The browser origins allowed to call the APIs: the configured ones, or else the app's own —
/// the web client api-service serves (on localhost or 127.0.0.1) and the Vite dev server.
/// Never "any origin" (which let any page, even a `null` origin, call the API with a token it
/// got hold of).
pub fn allowed_origins(settings: &Settings) -> Vec<String> {
    if !settings.http.cors_origins.is_empty() {
        return settings.http.cors_origins.clone();
    }
    let mut own = Vec::new();
    for port in [settings.http.api_port, VITE_DEV_PORT] {
        for host in ["localhost", "127.0.0.1"] {
            own.push(format!("http://{host}:{port}"));
        }
    }
    own
}

/// The port `npm run dev` serves the web client on (web/vite.config.ts).
const VITE_DEV_PORT: u16 = 5173;

/// CORS for `origins`, with only the methods and headers the API uses.
fn cors(origins: &[String]) -> actix_cors::Cors {
    use actix_web::http::{header, Method};
    let cors = actix_cors::Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers(["Retry-After"])
        .max_age(3600);
    origins
        .iter()
        .fold(cors, |cors, origin| cors.allowed_origin(origin))
}
