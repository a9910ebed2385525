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
    let docs = reqwest::get(format!("{base}/docs/")).await.unwrap();
    assert_eq!(docs.status(), 200);
    server.abort();
}
