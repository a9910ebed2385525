//! Builds admin-stats from settings: connect, migrate when configured, bind, serve, and keep the
//! bus gauges fresh in the background.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use platform::{ops::Readiness, server::RunningServer, Authenticator, JwtKeys, Settings};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::{gauges, openapi::ApiDoc, routes, state::AppState};

pub struct Application {
    server: RunningServer,
    state: AppState,
    _background: gauges::Background,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let (pool, bus) = platform::connect(&settings).await?;
        if settings.database.migrate_on_start {
            let applied = db::migrate(&pool).await?;
            tracing::info!(applied, "database migrated");
        }
        let state = AppState {
            db: pool.clone(),
            bus: bus.clone(),
            settings: Arc::new(settings.clone()),
        };
        let readiness = Readiness {
            service: "admin-stats",
            db: Some(pool.clone()),
            bus: Some(bus.clone()),
        };
        let authenticator = web::Data::new(Authenticator {
            keys: JwtKeys::new(&settings.auth),
            bus: bus.clone(),
        });
        let app_state = web::Data::new(state.clone());
        let openapi = ApiDoc::openapi();
        let route_table = Arc::new(domain::openapi::RouteTable::new(&openapi));
        let server =
            RunningServer::bind(&settings, settings.http.admin_port, readiness, move |cfg| {
                cfg.app_data(app_state.clone())
                    .app_data(authenticator.clone())
                    .service(web::scope("/api/v1/admin").configure(routes::configure))
                    .default_service(web::to(unmatched(route_table.clone())))
                    .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi.clone()))
                    .route("/docs", web::get().to(redirect_to_docs));
            })?;
        let background = gauges::spawn(pool, bus);
        Ok(Application {
            server,
            state,
            _background: background,
        })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application {
            server,
            _background,
            ..
        } = self;
        // The background task lives exactly as long as the server.
        let result = server.run_until_stopped().await;
        drop(_background);
        result
    }
}

/// `admin-stats rebuild-rollups`: recomputes the roll-ups from stored messages.
pub async fn rebuild_rollups(settings: &Settings) -> anyhow::Result<db::stats::RebuildReport> {
    let (pool, _) = platform::connect(settings).await?;
    db::migrate(&pool).await?;
    Ok(db::run(&pool, db::stats::rebuild_from_messages).await?)
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
