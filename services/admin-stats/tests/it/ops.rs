use admin_stats::startup::Application;
use testkit::services::{assert_ops_contract, TestEnv, BACKENDS};

#[tokio::test]
async fn serves_health_ready_metrics_on_both_backends() {
    for backend in BACKENDS {
        let env = TestEnv::new(backend).await;
        let app = Application::build(env.settings.clone()).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(app.run_until_stopped());
        assert_ops_contract(&base, "admin-stats").await;
        server.abort();
    }
}

#[tokio::test]
async fn serves_its_openapi_document_and_docs() {
    let env = TestEnv::new(testkit::services::Backend::Sqlite).await;
    let app = Application::build(env.settings.clone()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let doc: serde_json::Value = reqwest::get(format!("{base}/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/admin/users",
        "/api/v1/admin/users/{id}",
        "/api/v1/admin/users/{id}/conversations",
        "/api/v1/admin/users/{id}/conversations/{conversation_id}/messages",
        "/api/v1/admin/users/{id}/usage",
        "/api/v1/admin/usage.csv",
        "/api/v1/admin/stats/overview",
        "/api/v1/admin/realtime",
    ] {
        assert!(paths.contains_key(path), "{path} documented");
    }
    assert!(paths["/api/v1/admin/users/{id}"]["patch"].is_object());
    assert!(doc["components"]["schemas"]["OverviewView"].is_object());
    // The shared error answers are documented with the problem body on every operation.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for status in ["400", "401", "422", "429", "503"] {
                assert_eq!(
                    op["responses"][status]["content"]["application/problem+json"]["schema"]
                        ["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
    // Optional query parameters are documented as optional.
    let params = paths["/api/v1/admin/users"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(!params.is_empty());
    for p in params {
        assert_ne!(p["required"], true, "{p}");
    }
    let docs = reqwest::get(format!("{base}/docs/")).await.unwrap();
    assert_eq!(docs.status(), 200);
    // A documented path asked with another method: 405 with `Allow`.
    let resp = reqwest::Client::new()
        .put(format!("{base}/api/v1/admin/realtime"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET");
    server.abort();
}
