//! Health, readiness through outages, metrics, and the JSON error contract for bad input.

use std::time::{Duration, Instant};

use api_service::startup::Application;
use platform::Settings;
use testkit::services::{assert_ops_contract, TestEnv, BACKENDS};
use testkit::{PgCluster, RedisServer};

async fn start(settings: Settings) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    (base, tokio::spawn(app.run_until_stopped()))
}

async fn ready_body(base: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::get(format!("{base}/ready")).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// Polls `/ready` until it answers `want` (services must recover without a restart).
async fn wait_for_ready_status(base: &str, want: u16) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = ready_body(base).await;
        if status == want {
            return body;
        }
        assert!(Instant::now() < deadline, "/ready stayed {status}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn serves_health_ready_metrics_on_both_backends() {
    for backend in BACKENDS {
        let env = TestEnv::new(backend).await;
        let (base, server) = start(env.settings.clone()).await;
        assert_ops_contract(&base, "api-service").await;
        server.abort();
    }
}

#[tokio::test]
async fn ready_reports_redis_down_and_recovers_when_it_returns() {
    let redis = RedisServer::start();
    let env = TestEnv::new(testkit::services::Backend::Sqlite).await;
    let mut settings = env.settings.clone();
    settings.redis.url = redis.url();
    let (base, server) = start(settings).await;
    wait_for_ready_status(&base, 200).await;

    redis.stop();
    let body = wait_for_ready_status(&base, 503).await;
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["checks"]["redis"]
            .as_str()
            .unwrap()
            .starts_with("down"),
        "{body}"
    );
    assert_eq!(body["checks"]["database"], "ok");

    redis.resume();
    let body = wait_for_ready_status(&base, 200).await;
    assert_eq!(body["checks"]["redis"], "ok");
    server.abort();
}

#[tokio::test]
async fn ready_reports_postgres_down_and_recovers_when_it_returns() {
    let cluster: &'static PgCluster = Box::leak(Box::new(PgCluster::start()));
    let database = cluster.fresh_database();
    let redis = RedisServer::shared().fresh();
    let settings = Settings::for_tests(&database.url(), &redis.url, &redis.prefix).unwrap();
    let (base, server) = start(settings).await;
    wait_for_ready_status(&base, 200).await;

    cluster.stop();
    let body = wait_for_ready_status(&base, 503).await;
    assert!(
        body["checks"]["database"]
            .as_str()
            .unwrap()
            .starts_with("down"),
        "{body}"
    );
    assert_eq!(body["checks"]["redis"], "ok");

    cluster.resume();
    let body = wait_for_ready_status(&base, 200).await;
    assert_eq!(body["checks"]["database"], "ok");
    server.abort();
}

#[tokio::test]
async fn malformed_database_url_is_a_one_line_error_naming_the_variable() {
    let redis = RedisServer::shared().fresh();
    let settings = Settings::for_tests("mysql://nope", &redis.url, &redis.prefix).unwrap();
    let err = Application::build(settings)
        .await
        .err()
        .expect("must refuse");
    let text = err.to_string();
    assert!(text.contains("DATABASE_URL"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test]
async fn malformed_redis_url_is_a_one_line_error_naming_the_variable() {
    let env = TestEnv::new(testkit::services::Backend::Sqlite).await;
    let mut settings = env.settings.clone();
    settings.redis.url = "http://not-redis".into();
    let err = Application::build(settings)
        .await
        .err()
        .expect("must refuse");
    let text = err.to_string();
    assert!(text.contains("REDIS_URL"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[tokio::test]
async fn serves_the_web_client_with_a_fallback_for_client_routes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>chat</title>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app.js"), "console.log(1)").unwrap();
    let env = TestEnv::new(testkit::services::Backend::Sqlite).await;
    let mut settings = env.settings.clone();
    settings.http.web_dir = dir.path().display().to_string();
    let (base, server) = start(settings).await;

    let index = reqwest::get(format!("{base}/")).await.unwrap();
    assert_eq!(index.status(), 200);
    assert!(index.text().await.unwrap().contains("<title>chat</title>"));
    let asset = reqwest::get(format!("{base}/assets/app.js")).await.unwrap();
    assert_eq!(asset.text().await.unwrap(), "console.log(1)");
    let client_route = reqwest::get(format!("{base}/chat/42")).await.unwrap();
    assert!(client_route
        .text()
        .await
        .unwrap()
        .contains("<title>chat</title>"));
    let api_miss = reqwest::get(format!("{base}/api/v1/no-such-thing"))
        .await
        .unwrap();
    assert_eq!(api_miss.status(), 404);
    let body: serde_json::Value = api_miss.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    server.abort();
}

// Issue 13, hole 8: every invented method became a new, permanent `method` label value.
#[tokio::test]
async fn invented_methods_do_not_add_metric_series() {
    let env = TestEnv::new(testkit::services::Backend::Sqlite).await;
    let (base, _server) = start(env.settings.clone()).await;
    let http = reqwest::Client::new();
    let invented = reqwest::Method::from_bytes(b"BREWCOFFEE").unwrap();
    let resp = http
        .request(invented, format!("{base}/api/v1/characters"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("BREWCOFFEE"),
        "the method is not a label value"
    );
    assert!(metrics.contains(r#"method="other""#), "counted as other");
}

// Hole 8: `/metrics` can require a token.
#[tokio::test]
async fn metrics_can_require_a_token() {
    let env = TestEnv::new(testkit::services::Backend::Sqlite).await;
    let mut settings = env.settings.clone();
    settings.http.metrics_token = "ops-token-123".into();
    let (base, _server) = start(settings).await;
    let http = reqwest::Client::new();
    let anonymous = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = http
        .get(format!("{base}/metrics"))
        .bearer_auth("ops-token-124")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ops = http
        .get(format!("{base}/metrics"))
        .bearer_auth("ops-token-123")
        .send()
        .await
        .unwrap();
    assert_eq!(ops.status(), 200);
    assert!(ops.text().await.unwrap().contains("http_requests_total"));
    // Health and readiness stay open for the orchestrator's probes.
    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

// Issue 13, hole 9: CORS reflected any origin (`null` included) in the default run.
#[tokio::test]
async fn cors_allows_only_the_apps_own_origins_and_methods() {
    let env = TestEnv::new(testkit::services::Backend::Sqlite).await;
    let (base, _server) = start(env.settings.clone()).await;
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str, method: &'static str| {
        http.request(
            reqwest::Method::OPTIONS,
            format!("{base}/api/v1/conversations"),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "authorization")
        .send()
    };
    for hostile in ["null", "https://evil.example", "http://localhost:9999"] {
        let resp = preflight(hostile, "GET").await.unwrap();
        assert!(
            resp.headers().get("access-control-allow-origin").is_none(),
            "{hostile} is not allowed"
        );
    }
    let own = preflight("http://localhost:5173", "POST").await.unwrap();
    assert_eq!(
        own.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("http://localhost:5173")
    );
    let trace = preflight("http://localhost:5173", "TRACE").await.unwrap();
    assert!(
        trace.headers().get("access-control-allow-origin").is_none()
            || !trace.status().is_success()
    );
}

// Issue 13, hole 13: the web client was served without a CSP or nosniff, uncompressed and
// uncached.
#[tokio::test]
async fn the_web_client_has_security_headers_compression_and_caching() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>chat</title>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    let bundle = "console.log('a fairly repetitive bundle');\n".repeat(200);
    std::fs::write(dir.path().join("assets/index-3f2a9c.js"), &bundle).unwrap();
    let env = TestEnv::new(testkit::services::Backend::Sqlite).await;
    let mut settings = env.settings.clone();
    settings.http.web_dir = dir.path().display().to_string();
    let (base, server) = start(settings).await;
    let http = reqwest::Client::new();

    let index = http.get(format!("{base}/chat/7")).send().await.unwrap();
    let h = index.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    for directive in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-cache", "index.html is revalidated");

    for (accept, encoding) in [("br", "br"), ("gzip", "gzip")] {
        let asset = http
            .get(format!("{base}/assets/index-3f2a9c.js"))
            .header("Accept-Encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), 200);
        let h = asset.headers().clone();
        assert_eq!(h["content-encoding"], encoding);
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        let compressed = asset.bytes().await.unwrap();
        assert!(
            compressed.len() * 5 < bundle.len(),
            "{accept}: {} of {} bytes",
            compressed.len(),
            bundle.len()
        );
    }
    server.abort();
}
