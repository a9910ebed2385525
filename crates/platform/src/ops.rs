//! `/health` (the process answers), `/ready` (its database and Redis answer) and `/metrics`
//! (Prometheus text), the same on every service.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Serialize;

/// What `/ready` checks. Services register it as app data.
#[derive(Clone)]
pub struct Readiness {
    pub service: &'static str,
    pub db: Option<db::DbPool>,
    pub bus: Option<bus::Bus>,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    service: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct ReadyReport {
    status: &'static str,
    service: &'static str,
    checks: std::collections::BTreeMap<&'static str, String>,
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready))
        .route("/metrics", web::get().to(metrics));
}

async fn health(state: web::Data<Readiness>) -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        service: state.service,
        version: env!("CARGO_PKG_VERSION"),
    })
}

async fn ready(state: web::Data<Readiness>) -> HttpResponse {
    let mut checks = std::collections::BTreeMap::new();
    let mut all_ok = true;
    if let Some(pool) = &state.db {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, db::ping(pool)).await {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(e)) => format!("down: {e}"),
            Err(_) => "down: timed out".to_owned(),
        };
        all_ok &= outcome == "ok";
        checks.insert("database", outcome);
    }
    if let Some(bus) = &state.bus {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, bus.ping()).await {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(e)) => format!("down: {e}"),
            Err(_) => "down: timed out".to_owned(),
        };
        all_ok &= outcome == "ok";
        checks.insert("redis", outcome);
    }
    let report = ReadyReport {
        status: if all_ok { "ready" } else { "unavailable" },
        service: state.service,
        checks,
    };
    if all_ok {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}

async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::render())
}
