//! Builds api-service from settings: connect, migrate when configured, bind, serve.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use platform::{ops::Readiness, server::RunningServer, Authenticator, JwtKeys, Settings};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::{openapi::ApiDoc, routes, state::AppState};

pub struct Application {
    server: RunningServer,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let (pool, bus) = platform::connect(&settings).await?;
        if settings.database.migrate_on_start {
            let applied = db::migrate(&pool).await?;
            tracing::info!(applied, "database migrated");
        }
        let jwt = JwtKeys::new(&settings.auth);
        let state = AppState {
            db: pool.clone(),
            bus: bus.clone(),
            jwt: jwt.clone(),
            settings: Arc::new(settings.clone()),
            trusted_proxies: platform::http::TrustedProxies::new(&settings.http.trusted_proxies),
        };
        let readiness = Readiness {
            service: "api-service",
            db: Some(pool),
            bus: Some(bus.clone()),
        };
        let authenticator = web::Data::new(Authenticator { keys: jwt, bus });
        let app_state = web::Data::new(state.clone());
        let openapi = ApiDoc::openapi();
        let route_table = Arc::new(domain::openapi::RouteTable::new(&openapi));
        let web_dir = std::path::PathBuf::from(&settings.http.web_dir);
        let serve_web = web_dir.join("index.html").is_file();
        if !serve_web {
            tracing::info!(dir = %web_dir.display(), "no built web client; `/` is not served");
        }
        let ports = crate::web_client::SiblingPorts {
            gateway: settings.http.gateway_port,
            admin: settings.http.admin_port,
        };
        let server =
            RunningServer::bind(&settings, settings.http.api_port, readiness, move |cfg| {
                cfg.app_data(app_state.clone())
                    .app_data(authenticator.clone())
                    .service(web::scope("/api/v1").configure(routes::configure))
                    .default_service(web::to(unmatched(route_table.clone())))
                    .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi.clone()))
                    .route("/docs", web::get().to(redirect_to_docs));
                if serve_web {
                    crate::web_client::configure(cfg, &web_dir, ports);
                }
            })?;
        Ok(Application { server, state })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.run_until_stopped().await
    }
}

/// Requests no route took: 405 with `Allow` for a documented path asked with another method,
/// else 404.
fn unmatched(
    table: Arc<domain::openapi::RouteTable>,
) -> impl Fn(HttpRequest) -> std::future::Ready<HttpResponse> + Clone {
    move |req: HttpRequest| {
        std::future::ready(platform::error::unmatched_route(&req, |path| {
            table.allowed(path)
        }))
    }
}

async fn redirect_to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}
