//! Measures what the worker adds to an AI reply (DESIGN §11): job enqueued → first delta seen on
//! the conversation's event log (through Redis pub/sub, as a gateway sees it), minus the
//! provider's own first-token delay, p50/p99, with 1, 100 and 1000 generations in flight; and
//! the tokens per second it sustains.
//!
//! Load is closed-loop: N conversations each keep one generation in flight (a finished reply is
//! followed at once by the next job), starts staggered over one reply time, so "N concurrent"
//! means N replies streaming at any moment, as in production. A burst (N jobs enqueued at the
//! same instant) is measured too: the worst case, queueing included.
//!
//! Everything runs on this machine over loopback: PostgreSQL (fsync off, as in tests) and
//! redis-server from testkit, the provider (the in-process mock, whose first token comes exactly
//! 20 ms after the call, or testkit's fake OpenAI server over HTTP/SSE), the worker and the load
//! generator. Every phase is bounded in time.
//!
//! ```text
//! cargo run --release -p llm-worker --example worker-bench            # PostgreSQL
//! cargo run --release -p llm-worker --example worker-bench -- sqlite  # SQLite
//! cargo run --release -p llm-worker --example worker-bench -- prompt  # the prompt build alone
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "worker-bench-parts/prompt.rs"]
mod prompt_bench;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bus::{Bus, SubscriberEvent, SubscriberEvents};
use chrono::Utc;
use db::conversations::NewConversationRow;
use db::messages::NewMessageRow;
use domain::events::{ConversationEvent, EventPayload};
use domain::jobs::{JobKind, LlmJob, JOB_VERSION};
use domain::{ConversationId, ConversationKind, MemberRole, MessageId, UserId};
use llm_worker::{CancellationToken, Worker};
use testkit::providers::{Behavior, FakeProvider, ProviderKind};
use testkit::services::{Backend, TestEnv};

/// The provider's own time to first token (and between tokens), subtracted from the measurement.
const TOKEN_GAP: Duration = Duration::from_millis(20);
const MAX_CONCURRENCY: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Mock,
    Fake,
}

struct Bench {
    bus: Bus,
    events: SubscriberEvents,
    user: UserId,
    /// One AI conversation (and its user message) per generation in flight.
    conversations: Vec<(ConversationId, MessageId)>,
    seq: usize,
}

#[derive(Default)]
struct Stats {
    overheads: Vec<Duration>,
    /// Enqueued → `generation.started` seen: pickup, the database load, the placeholder.
    pickups: Vec<Duration>,
    tokens: i64,
    completed: usize,
    failed: usize,
    elapsed: Duration,
    unfinished: usize,
}

struct InFlight {
    slot: usize,
    enqueued: Instant,
    first: bool,
}

impl Bench {
    async fn enqueue(&mut self, slot: usize, jobs: &mut HashMap<String, InFlight>) {
        self.seq += 1;
        let (conv, trigger) = self.conversations[slot];
        let job = LlmJob {
            v: JOB_VERSION,
            job_id: format!("bench-{}", self.seq),
            kind: JobKind::Reply,
            user_id: self.user,
            conversation_id: Some(conv),
            trigger_message_id: Some(trigger),
            story_id: None,
            model: None,
            enqueued_at: Utc::now(),
            character_id: None,
        };
        let enqueued = Instant::now();
        self.bus.enqueue_job(&job).await.unwrap();
        jobs.insert(
            job.job_id,
            InFlight {
                slot,
                enqueued,
                first: false,
            },
        );
    }

    /// Keeps `n` generations in flight for `run_for` (`stagger`: spread the first starts over
    /// that time; zero: a burst of `n`, then no more), then waits for the last ones.
    async fn run(&mut self, n: usize, stagger: Duration, run_for: Duration) -> Stats {
        let begin = Instant::now();
        let end = begin + run_for;
        let burst = stagger.is_zero();
        let mut starts: Vec<(Instant, usize)> = (0..n)
            .map(|i| (begin + stagger.mul_f64(i as f64 / n as f64), i))
            .rev()
            .collect();
        let mut jobs: HashMap<String, InFlight> = HashMap::new();
        let mut stats = Stats::default();
        let hard_stop = end + Duration::from_secs(60);
        loop {
            let now = Instant::now();
            while starts.last().is_some_and(|(at, _)| *at <= now) {
                let (_, slot) = starts.pop().unwrap();
                self.enqueue(slot, &mut jobs).await;
            }
            if starts.is_empty() && jobs.is_empty() {
                break;
            }
            if now > hard_stop {
                stats.unfinished = jobs.len();
                break;
            }
            let wake = starts.last().map_or(hard_stop, |(at, _)| *at);
            let event = tokio::select! {
                e = self.events.recv() => e,
                _ = tokio::time::sleep_until(wake.into()) => continue,
            };
            let Some(SubscriberEvent::Entry(entry)) = event else {
                continue;
            };
            let seen = Instant::now();
            let Ok(EventPayload { event, .. }) = serde_json::from_str(&entry.payload) else {
                continue;
            };
            match event {
                ConversationEvent::GenerationStarted { job_id, .. } => {
                    if let Some(j) = jobs.get(&job_id) {
                        stats.pickups.push(seen - j.enqueued);
                    }
                }
                ConversationEvent::Delta { job_id, .. } => {
                    if let Some(j) = jobs.get_mut(&job_id) {
                        if !j.first {
                            j.first = true;
                            stats
                                .overheads
                                .push((seen - j.enqueued).saturating_sub(TOKEN_GAP));
                        }
                    }
                }
                ConversationEvent::Completed { job_id, usage, .. } => {
                    if let Some(j) = jobs.remove(&job_id) {
                        stats.tokens += usage.completion_tokens;
                        stats.completed += 1;
                        if !burst && seen < end {
                            self.enqueue(j.slot, &mut jobs).await;
                        }
                    }
                }
                ConversationEvent::Failed { job_id, reason, .. } => {
                    if let Some(j) = jobs.remove(&job_id) {
                        eprintln!("job {job_id} failed: {reason}");
                        stats.failed += 1;
                        if !burst && seen < end {
                            self.enqueue(j.slot, &mut jobs).await;
                        }
                    }
                }
                _ => {}
            }
        }
        stats.elapsed = begin.elapsed();
        stats
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn row(label: &str, mut stats: Stats) {
    stats.overheads.sort();
    stats.pickups.sort();
    println!(
        "{:<26} {:>7} {:>8} {:>8} {:>8} {:>15} {:>10.0} {:>6.1}s{}",
        label,
        stats.overheads.len(),
        ms(percentile(&stats.overheads, 0.50)),
        ms(percentile(&stats.overheads, 0.99)),
        ms(stats.overheads.last().copied().unwrap_or_default()),
        format!(
            "{}/{}",
            ms(percentile(&stats.pickups, 0.50)),
            ms(percentile(&stats.pickups, 0.99))
        ),
        stats.tokens as f64 / stats.elapsed.as_secs_f64(),
        stats.elapsed.as_secs_f64(),
        match (stats.unfinished, stats.failed) {
            (0, 0) => String::new(),
            (u, f) => format!("  ({u} unfinished, {f} failed)"),
        },
    );
}

/// A worker whose provider's replies are `words` tokens, `TOKEN_GAP` apart, the first one
/// `TOKEN_GAP` after the call.
fn start_worker(
    env: &TestEnv,
    fake: &FakeProvider,
    provider: Provider,
    words: usize,
    db: &db::DbPool,
    bus: &Bus,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let mut settings = env.settings.clone();
    match provider {
        Provider::Mock => {
            settings.llm.mock_tokens_per_sec = (1000 / TOKEN_GAP.as_millis()) as u32;
            settings.llm.max_output_tokens = words as u32;
        }
        Provider::Fake => {
            settings.llm.openai_api_key = "sk-bench".into();
            settings.llm.openai_base_url = fake.base_url();
            settings.llm.default_model = "openai/gpt-4o-mini".into();
            let chunks: Vec<String> = (0..words).map(|i| format!("w{i} ")).collect();
            let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
            fake.set_default(
                Behavior::reply(&refs)
                    .with_usage(50, words as u32, 0)
                    .with_delays(TOKEN_GAP, TOKEN_GAP),
            );
        }
    }
    let worker = Worker::build(&settings, db.clone(), bus.clone()).unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(worker.run(stop.clone()));
    (stop, task)
}

/// The fake's own time to first token as a client sees it (no worker), for reference.
async fn fake_baseline(fake: &FakeProvider) -> (Duration, Duration) {
    use futures_util::StreamExt;
    use llm::ChatModel;
    let client = llm::OpenAiCompatible::new(
        "openai",
        fake.base_url(),
        "sk-bench",
        llm::Timeouts::default(),
    )
    .unwrap();
    let mut samples = Vec::new();
    for _ in 0..50 {
        let request = llm::ChatRequest {
            model: "gpt-4o-mini".into(),
            messages: vec![llm::ChatMessage::user("hi")],
            ..llm::ChatRequest::default()
        };
        let t0 = Instant::now();
        let mut stream = client.stream(request).await.unwrap();
        while let Some(event) = stream.next().await {
            if matches!(event, Ok(llm::StreamEvent::Delta(_))) {
                samples.push(t0.elapsed());
                break;
            }
        }
        while stream.next().await.is_some() {}
    }
    samples.sort();
    (percentile(&samples, 0.5), percentile(&samples, 0.99))
}

async fn stop_worker((stop, task): (CancellationToken, tokio::task::JoinHandle<()>)) {
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "prompt") {
        prompt_bench::run();
        return;
    }
    let backend = if std::env::args().any(|a| a == "sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    eprintln!("starting {backend:?}, redis-server and the fake provider…");
    let mut env = TestEnv::new(backend).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    let settings = &mut env.settings;
    settings.database.pool_size = if backend == Backend::Postgres { 32 } else { 4 };
    settings.redis.pool_size = 64;
    settings.llm.max_concurrent_jobs = MAX_CONCURRENCY + 64;
    settings.llm.max_retries = 0;
    settings.llm.reclaim_idle_ms = 60_000;
    settings.http.shutdown_timeout_secs = 5;
    let (db, bus) = platform::connect(settings).await.unwrap();

    let (user, conversations) = db::run(&db, |c| {
        let user = db::users::insert(
            c,
            db::users::NewUserRow::new("bench", "bench@example.com", "x"),
        )?;
        let mut ch = db::characters::NewCharacterRow::new(user.id, "Ada");
        ch.description = "{{char}} is a cheerful inventor.".into();
        ch.system_prompt = "You are {{char}}.".into();
        let ch = db::characters::insert(c, ch)?;
        let mut convs = Vec::with_capacity(MAX_CONCURRENCY);
        for _ in 0..MAX_CONCURRENCY {
            let mut conv = NewConversationRow::new(ConversationKind::AiChat, Some(user.id));
            conv.character_id = Some(ch.id);
            let conv =
                db::conversations::insert_with_members(c, conv, &[(user.id, MemberRole::Owner)])?;
            let m = db::messages::insert(
                c,
                NewMessageRow::user(conv.id, user.id, "Tell me about your latest invention."),
            )?;
            convs.push((conv.id, m.id));
        }
        Ok((user.id, convs))
    })
    .await
    .unwrap();

    let subscriber = bus.subscriber().await.unwrap();
    let (handle, events) = subscriber.into_parts();
    for (conv, _) in &conversations {
        handle.subscribe(*conv).await.unwrap();
    }
    let mut bench = Bench {
        bus: bus.clone(),
        events,
        user,
        conversations,
        seq: 0,
    };

    println!(
        "\nworker overhead = job enqueued → first delta on the event log − the provider's {} ms first-token time (ms)",
        ms(TOKEN_GAP)
    );
    println!(
        "{:<26} {:>7} {:>8} {:>8} {:>8} {:>15} {:>10} {:>7}",
        "phase", "samples", "p50", "p99", "max", "pickup p50/p99", "tokens/s", "wall"
    );
    for provider in [Provider::Mock, Provider::Fake] {
        // 1 in flight: 10-token replies (200 ms each), 20 s.
        let w = start_worker(&env, &fake, provider, 10, &db, &bus);
        bench
            .run(20, Duration::from_millis(200), Duration::from_secs(2))
            .await; // warm-up
        let s = bench
            .run(1, Duration::from_millis(1), Duration::from_secs(20))
            .await;
        row(&format!("{provider:?}: 1 in flight"), s);
        stop_worker(w).await;
        // 100 and 1000 in flight: 100-token replies (2 s each), 15 s each.
        let w = start_worker(&env, &fake, provider, 100, &db, &bus);
        for n in [100, MAX_CONCURRENCY] {
            let s = bench
                .run(n, Duration::from_secs(2), Duration::from_secs(15))
                .await;
            row(&format!("{provider:?}: {n} in flight"), s);
        }
        for n in [100, MAX_CONCURRENCY] {
            let s = bench.run(n, Duration::ZERO, Duration::ZERO).await;
            row(&format!("{provider:?}: burst of {n}"), s);
        }
        stop_worker(w).await;
    }
    let (p50, p99) = fake_baseline(&fake).await;
    println!(
        "the fake alone (request → first delta at an llm client, no worker): p50 {} p99 {} ms",
        ms(p50),
        ms(p99)
    );

    // Throughput ceiling: 1000 replies of 200 tokens at once, the fake sending without pauses.
    let long: Vec<String> = (0..200).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = long.iter().map(String::as_str).collect();
    let w = start_worker(&env, &fake, Provider::Fake, 200, &db, &bus);
    fake.set_default(Behavior::reply(&refs).with_usage(50, 200, 0));
    let s = bench
        .run(MAX_CONCURRENCY, Duration::ZERO, Duration::ZERO)
        .await;
    println!(
        "max throughput (fake, no pacing): {} replies × 200 tokens = {} tokens in {:.2} s = {:.0} tokens/s{}",
        MAX_CONCURRENCY,
        s.tokens,
        s.elapsed.as_secs_f64(),
        s.tokens as f64 / s.elapsed.as_secs_f64(),
        if s.unfinished > 0 {
            format!(" ({} unfinished)", s.unfinished)
        } else {
            String::new()
        },
    );
    stop_worker(w).await;
}
