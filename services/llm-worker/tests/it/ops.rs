use llm_worker::startup::Application;
use testkit::services::{assert_ops_contract, TestEnv, BACKENDS};

#[tokio::test]
async fn serves_health_ready_metrics_on_both_backends() {
    for backend in BACKENDS {
        let env = TestEnv::new(backend).await;
        let app = Application::build(env.settings.clone()).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(app.run_until_stopped());
        assert_ops_contract(&base, "llm-worker").await;
        server.abort();
    }
}
