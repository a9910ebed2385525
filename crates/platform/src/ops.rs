//! `/health` (the process answers), `/ready` (its database and Redis answer) and `/metrics`
//! (Prometheus text), the same on every service.

use std::time::Duration;

use actix_web::{web, HttpResponse, ResponseError};
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

/// The token `/metrics` requires (`http.metrics_token`); none set means open, as on a private
/// ops network.
#[derive(Clone)]
pub struct MetricsToken(Option<std::sync::Arc<str>>);

impl MetricsToken {
    pub fn new(token: &str) -> Self {
        Self((!token.is_empty()).then(|| token.into()))
    }

    fn admits(&self, req: &actix_web::HttpRequest) -> bool {
        let Some(expected) = &self.0 else {
            return true;
        };
        crate::auth::bearer_token(req).is_some_and(|given| {
            // Compared in constant time: the token guards the whole process's figures.
            given.len() == expected.len()
                && given
                    .bytes()
                    .zip(expected.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
    }
}

async fn metrics(
    req: actix_web::HttpRequest,
    token: Option<web::Data<MetricsToken>>,
) -> HttpResponse {
    if token.is_some_and(|t| !t.admits(&req)) {
        return crate::ApiError::unauthorized("/metrics needs the metrics token").error_response();
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::render())
}
