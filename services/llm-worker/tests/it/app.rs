//! The whole service as `make run` starts it: ops endpoints plus the worker, mock provider when
//! no key is configured, metrics, and a clean stop.

use std::time::Duration;

use domain::MessageStatus;
use llm_worker::startup::Application;
use testkit::services::Backend;

use crate::helpers::{completed, Harness};

#[tokio::test]
async fn the_service_chats_through_the_mock_and_reports_metrics() {
    let h = Harness::new(Backend::Sqlite).await;
    let app = Application::build(h.settings()).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let stop = app.stop();
    let running = tokio::spawn(app.run_until_stopped());

    let job = h.send("Hello mock").await;
    let events = h.wait_finished(&job.job_id).await;
    let done = completed(&events, &job.job_id);
    assert_eq!(done[0].0.status, MessageStatus::Complete);
    assert_eq!(done[0].0.model.as_deref(), Some("mock/echo"));

    // The completed event goes out before the worker acks the job and counts it: poll.
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("worker_jobs_total{outcome=\"completed\"}") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for name in [
        "worker_jobs_total{outcome=\"completed\"}",
        "worker_time_to_first_token_seconds",
        "worker_tokens_streamed_total",
        "worker_jobs_in_flight",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
}
