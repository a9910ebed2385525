//! REST latency and throughput on a real PostgreSQL and redis-server (started by testkit),
//! api-service in-process, load generated in-process by N concurrent HTTP/1.1 clients on
//! loopback. Prints p50/p99/p999/max and requests per second for:
//! - `GET /conversations/{id}/messages?limit=50` on a conversation with 2,000 messages;
//! - `POST /conversations/{id}/messages` (store + event + job) from many users.
//!
//! Run: `cargo bench -p api-service --bench rest` (env BENCH_SECS, BENCH_CONCURRENCY).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use api_service::startup::Application;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use testkit::services::{Backend, TestEnv};
use tokio::sync::Mutex;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    http.post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn register(http: &reqwest::Client, base: &str, name: &str) -> String {
    let body = json!({"username": name, "email": format!("{name}@bench.local"), "password": "passw0rd-long"});
    let v: Value = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// Whether the response arrived with `status` and its body was read whole.
async fn ok(response: reqwest::Result<reqwest::Response>, status: u16) -> bool {
    match response {
        Ok(r) if r.status() == status => r.bytes().await.is_ok(),
        _ => false,
    }
}

struct Report {
    name: &'static str,
    histogram: Histogram<u64>,
    errors: u64,
    elapsed: Duration,
}

impl Report {
    fn print(&self) {
        let h = &self.histogram;
        let ms = |v: u64| v as f64 / 1000.0;
        println!(
            "{:<34} n={:>7} err={:<3} rps={:>8.0}  p50={:>6.2}ms p99={:>6.2}ms p999={:>6.2}ms max={:>7.2}ms",
            self.name,
            h.len(),
            self.errors,
            h.len() as f64 / self.elapsed.as_secs_f64(),
            ms(h.value_at_quantile(0.50)),
            ms(h.value_at_quantile(0.99)),
            ms(h.value_at_quantile(0.999)),
            ms(h.max()),
        );
    }
}

/// Runs `concurrency` loops of `request` for `duration`, recording each latency in µs.
async fn drive<F, Fut>(
    name: &'static str,
    concurrency: usize,
    duration: Duration,
    request: F,
) -> Report
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let histogram = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap(),
    ));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (request, histogram, errors) = (request.clone(), histogram.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                if request(worker, i).await {
                    local.record(t.elapsed().as_micros().max(1) as u64).unwrap();
                } else {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                i += 1;
            }
            histogram.lock().await.add(local).unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let histogram = Arc::try_unwrap(histogram).ok().unwrap().into_inner();
    Report {
        name,
        histogram,
        errors: errors.load(std::sync::atomic::Ordering::Relaxed),
        elapsed: started.elapsed(),
    }
}

#[tokio::main]
async fn main() {
    let secs = Duration::from_secs(env_or("BENCH_SECS", 10));
    let concurrency = env_or("BENCH_CONCURRENCY", 32) as usize;
    let env = TestEnv::new(Backend::Postgres).await;
    let mut settings = env.settings.clone();
    settings.http.workers = 2;
    settings.database.pool_size = 16;
    settings.rate_limit.sends_per_minute = 1_000_000;
    settings.rate_limit.register_per_hour = 1_000_000;
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();

    // One reader with a 2,000-message conversation; `concurrency` writers with their own chats.
    let reader = register(&http, &base, "reader").await;
    let character = post(
        &http,
        format!("{base}/api/v1/characters"),
        &reader,
        json!({"name": "Bench", "greeting": "hi"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let conversation = post(
        &http,
        format!("{base}/api/v1/conversations"),
        &reader,
        json!({"kind": "ai_chat", "character_id": character}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    for i in 0..2000 {
        post(
            &http,
            format!("{base}/api/v1/conversations/{conversation}/messages"),
            &reader,
            json!({"content": format!("message number {i} with some text in it")}),
        )
        .await;
    }
    let mut writers = Vec::new();
    for w in 0..concurrency {
        writers.push(register(&http, &base, &format!("writer{w}")).await);
    }
    let public = post(
        &http,
        format!("{base}/api/v1/characters"),
        &reader,
        json!({"name": "Public", "visibility": "public"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let mut writer_convs = Vec::new();
    for token in &writers {
        let id = post(
            &http,
            format!("{base}/api/v1/conversations"),
            token,
            json!({"kind": "ai_chat", "character_id": public}),
        )
        .await["id"]
            .as_i64()
            .unwrap();
        writer_convs.push(id);
    }
    println!(
        "api-service on PostgreSQL: {concurrency} concurrent clients, {}s per scenario",
        secs.as_secs()
    );

    let (h, b, t) = (http.clone(), base.clone(), reader.clone());
    drive(
        "GET messages?limit=50 (2k history)",
        concurrency,
        secs,
        move |_, i| {
            let (h, b, t) = (h.clone(), b.clone(), t.clone());
            async move {
                // Alternate the newest page and a page deep in history.
                let url = if i % 2 == 0 {
                    format!("{b}/api/v1/conversations/{conversation}/messages?limit=50")
                } else {
                    format!(
                        "{b}/api/v1/conversations/{conversation}/messages?limit=50&before={}",
                        1000 + (i % 900)
                    )
                };
                ok(h.get(url).bearer_auth(&t).send().await, 200).await
            }
        },
    )
    .await
    .print();

    let writers = Arc::new(writers);
    let writer_convs = Arc::new(writer_convs);
    let (h, b) = (http.clone(), base.clone());
    drive("POST messages (store+event+job)", concurrency, secs, move |w, i| {
        let (h, b, writers, convs) = (h.clone(), b.clone(), writers.clone(), writer_convs.clone());
        async move {
            let url = format!("{b}/api/v1/conversations/{}/messages", convs[w]);
            let body = json!({"content": format!("bench message {i}"), "client_id": format!("w{w}-{i}")});
            ok(h.post(url).bearer_auth(&writers[w]).json(&body).send().await, 202).await
        }
    })
    .await
    .print();
}
