//! The real-time view and the bus gauges: a registered gateway node, the worker group's
//! consumers and pending jobs, stream lengths.

use std::time::Duration;

use domain::jobs::{LlmJob, JOB_VERSION};

use testkit::both_backends;

/// A reply job as chat enqueues it (built from JSON so fields added later with defaults do not
/// break this test).
fn job(id: &str) -> LlmJob {
    serde_json::from_value(serde_json::json!({
        "v": JOB_VERSION,
        "job_id": id,
        "kind": "reply",
        "user_id": 1,
        "conversation_id": 1,
        "trigger_message_id": 1,
        "story_id": null,
        "model": null,
        "enqueued_at": chrono::Utc::now(),
    }))
    .expect("a valid job")
}

both_backends!(realtime_shows_gateways_workers_and_streams, |app| {
    let root = app.admin("root").await;
    let empty = app
        .get("/api/v1/admin/realtime", &root.token)
        .await
        .expect(200);
    assert_eq!(empty["gateways"]["replicas"], 0);
    assert_eq!(empty["jobs"]["length"], 0);
    assert_eq!(empty["jobs"]["groups"].as_array().unwrap().len(), 0);

    app.bus
        .register_node(
            "gw-a",
            r#"{"node_id":"gw-a","port":3001,"connections":12,"subscriptions":30,"users":9,"channels":4,"started_at":"2026-01-01T00:00:00Z"}"#,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    app.bus
        .register_node("gw-b", r#"{"connections":3}"#, Duration::from_secs(30))
        .await
        .unwrap();
    for i in 0..3 {
        app.bus
            .enqueue_job(&job(&format!("job-{i}")))
            .await
            .unwrap();
    }
    let worker = app
        .bus
        .job_consumer("llm-worker", "worker-1")
        .await
        .unwrap();
    let taken = worker.read(1, Duration::ZERO).await.unwrap();
    assert_eq!(taken.len(), 1);

    let view = app
        .get("/api/v1/admin/realtime", &root.token)
        .await
        .expect(200);
    let gateways = &view["gateways"];
    assert_eq!(gateways["replicas"], 2);
    assert_eq!(gateways["connections"], 15);
    assert_eq!(gateways["subscriptions"], 30);
    let nodes = gateways["nodes"].as_array().unwrap();
    let a = nodes.iter().find(|n| n["node_id"] == "gw-a").unwrap();
    assert_eq!(a["connections"], 12);
    assert_eq!(a["users"], 9);
    assert_eq!(a["alive"], true);
    assert_eq!(a["started_at"], "2026-01-01T00:00:00Z");
    assert_eq!(a["info"]["port"], 3001);
    let jobs = &view["jobs"];
    assert_eq!(jobs["length"], 3);
    assert_eq!(jobs["dead_letters"], 0);
    let group = &jobs["groups"][0];
    assert_eq!(group["name"], "llm-worker");
    assert_eq!(group["consumers"], 1);
    assert_eq!(group["pending"], 1, "taken, not acknowledged");
    if !group["lag"].is_null() {
        assert_eq!(group["lag"], 2, "not yet delivered");
    }
    assert_eq!(view["streams"][0]["name"], "llm.jobs");
    assert_eq!(view["streams"][0]["length"], 3);

    // The same numbers as Prometheus gauges.
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "bus_stream_length{stream=\"llm.jobs\"}",
        "bus_stream_length{stream=\"llm.jobs.dead\"}",
        "bus_consumer_pending{group=\"llm-worker\"}",
        "bus_consumer_group_consumers{group=\"llm-worker\"}",
        "bus_gateway_nodes",
        "bus_gateway_connections",
    ] {
        assert!(metrics.contains(needle), "{needle} exported:\n{metrics}");
    }

    app.bus.unregister_node("gw-b").await.unwrap();
    let view = app
        .get("/api/v1/admin/realtime", &root.token)
        .await
        .expect(200);
    assert_eq!(
        view["gateways"]["replicas"], 1,
        "a stopped replica drops out"
    );
});
