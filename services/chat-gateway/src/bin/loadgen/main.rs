//! `loadgen`: the gateway benchmark (DESIGN §11). Starts a redis-server, a SQLite database and
//! two `chat-gateway` processes on 127.0.0.1, drives them with real WebSocket clients, and
//! reports delivered/expected, loss, duplicates, fan-out latency (publish → client),
//! deliveries per second, the gateways' CPU per delivery (from /proc) and memory.
//!
//! ```text
//! cargo build --release -p chat-gateway --bin chat-gateway --bin loadgen
//! target/release/loadgen [--scenarios idle,a,b,c,resume] [--duration 10] [--idle 10000]
//!                        [--resume-clients 1000] [--max-seconds 900] [--hold 0]
//!                        [--trace-sample 0.1]
//! ```
//! `--trace-sample R` turns tracing on (issue 23): a trivial OTLP/HTTP sink on 127.0.0.1, the
//! gateways export to it with `parentbased_traceidratio` R, and each publish is made in a span
//! of this process sampled at R, so every event carries a trace context (sampled or not) and
//! each delivery makes its span, as behind a traced worker. Without it nothing is traced.
//! Publishing goes straight to `bus.publish`: the gateway path is what is measured. The run is
//! bounded by `--max-seconds` (a watchdog ends it and its children) and only ever connects to
//! 127.0.0.1.

mod client;
mod env;
mod sink;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::events::{ConversationEvent, EventPayload};
use domain::ConversationId;
use tokio::sync::watch;

use client::{Outcome, Shared, Spec};
use env::Env;

struct Args {
    scenarios: Vec<String>,
    duration: Duration,
    idle: usize,
    /// Keeps the idle sockets open this long after measuring (to attach a heap profiler).
    hold: Duration,
    resume_clients: usize,
    max_seconds: u64,
    gateway_bin: PathBuf,
    trace_sample: Option<f64>,
}

fn parse_args() -> anyhow::Result<Args> {
    let exe = std::env::current_exe()?;
    let mut a = Args {
        scenarios: ["idle", "a", "b", "c", "resume"].map(String::from).to_vec(),
        duration: Duration::from_secs(10),
        idle: 10_000,
        hold: Duration::ZERO,
        resume_clients: 1_000,
        max_seconds: 900,
        gateway_bin: exe.with_file_name("chat-gateway"),
        trace_sample: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--scenarios" => {
                a.scenarios = value()?.split(',').map(|s| s.trim().to_owned()).collect()
            }
            "--duration" => a.duration = Duration::from_secs_f64(value()?.parse()?),
            "--idle" => a.idle = value()?.parse()?,
            "--hold" => a.hold = Duration::from_secs_f64(value()?.parse()?),
            "--resume-clients" => a.resume_clients = value()?.parse()?,
            "--max-seconds" => a.max_seconds = value()?.parse()?,
            "--gateway-bin" => a.gateway_bin = value()?.into(),
            "--trace-sample" => a.trace_sample = Some(value()?.parse()?),
            "-h" | "--help" => {
                println!("see the module documentation in src/bin/loadgen/main.rs");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

/// Ends the run (and the children, by pid) if it overstays its time limit.
fn start_watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("loadgen: time limit of {limit:?} reached; stopping");
        if let Ok(pids) = env::CHILDREN.lock() {
            for pid in pids.iter() {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
            }
        }
        std::process::exit(2);
    });
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    start_watchdog(Duration::from_secs(args.max_seconds));
    anyhow::ensure!(
        args.gateway_bin.exists(),
        "{} not found: build it with `cargo build --release -p chat-gateway`",
        args.gateway_bin.display()
    );
    // Tracing on: the sink, and the variables this process and the gateways (which are given
    // every OTEL_* variable) read. Set before any thread reads the environment.
    let sink = match args.trace_sample {
        Some(ratio) => {
            let (url, received) = sink::start()?;
            std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", url);
            std::env::set_var("OTEL_TRACES_SAMPLER", "parentbased_traceidratio");
            std::env::set_var("OTEL_TRACES_SAMPLER_ARG", ratio.to_string());
            Some(received)
        }
        None => None,
    };
    // Two threads: the clients share the machine's two cores with the gateways, as in
    // DESIGN §11 ("load generator included").
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        let mut telemetry = sink.as_ref().map(|_| {
            let mut log = platform::Settings::defaults()
                .map(|s| s.log)
                .unwrap_or_else(|_| platform::config::LogSettings {
                    format: platform::config::LogFormat::Pretty,
                    filter: "warn".into(),
                });
            log.filter = "warn".into();
            platform::telemetry::init_service(&log, "loadgen")
        });
        let result = run(args).await;
        if let Some(t) = telemetry.as_mut() {
            t.shutdown();
        }
        result
    });
    if let Some(received) = sink {
        use std::sync::atomic::Ordering::Relaxed;
        println!(
            "# traces: the sink received {} export requests, {} bytes (gateways and loadgen)",
            received.requests.load(Relaxed),
            received.bytes.load(Relaxed)
        );
    }
    result
}

async fn run(args: Args) -> anyhow::Result<()> {
    let ticks = env::clock_ticks();
    println!("# chat-gateway benchmark — 2 replicas, redis-server, SQLite; all on 127.0.0.1");
    println!(
        "# machine: {} cores; event payload ≈ 200 B; latency = bus.publish → client receive",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for scenario in &args.scenarios {
        // Fresh processes per scenario, so memory and CPU figures are the scenario's own.
        let env = Env::start(&args.gateway_bin, 2).await?;
        let result = match scenario.as_str() {
            "idle" => idle(&env, args.idle, args.hold).await,
            "a" => {
                throughput(
                    &env,
                    "a: 10 conv × 50 subs @ 200 msg/s",
                    10,
                    50,
                    200.0,
                    args.duration,
                    ticks,
                )
                .await
            }
            "b" => {
                throughput(
                    &env,
                    "b: 1 conv × 1000 subs @ 20 msg/s",
                    1,
                    1000,
                    20.0,
                    args.duration,
                    ticks,
                )
                .await
            }
            "c" => {
                throughput(
                    &env,
                    "c: 10 conv × 50 subs @ 2000 msg/s",
                    10,
                    50,
                    2000.0,
                    args.duration,
                    ticks,
                )
                .await
            }
            "resume" => resume(env, args.resume_clients).await.map(|_| ()),
            other => Err(anyhow::anyhow!("unknown scenario {other}")),
        };
        if let Err(e) = result {
            println!("{scenario}: FAILED: {e:#}");
        }
    }
    Ok(())
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

/// Connects `specs` clients (at most 256 handshakes at a time) and returns their tasks.
async fn spawn_clients(
    specs: Vec<Spec>,
    shared: &Arc<Shared>,
    subscribe_now: &watch::Receiver<bool>,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<Outcome>> {
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let mut handles = Vec::with_capacity(specs.len());
    for spec in specs {
        let permit = gate.clone().acquire_owned().await;
        let (shared, sub, stop) = (shared.clone(), subscribe_now.clone(), stop.clone());
        handles.push(tokio::spawn(async move {
            let run = client::run(spec, shared, sub, stop);
            tokio::pin!(run);
            // The permit paces handshakes (the listener's backlog is small); a connect takes
            // well under 50 ms on loopback.
            tokio::select! {
                out = &mut run => return out,
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            drop(permit);
            run.await
        }));
    }
    handles
}

async fn wait_for(what: &str, limit: Duration, cond: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !cond() {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

fn payload(t0: Instant) -> EventPayload {
    // The send time rides in the text; the padding makes a realistic ≈200-byte frame.
    let sent = t0.elapsed().as_micros();
    EventPayload::from(ConversationEvent::Delta {
        job_id: "bench".into(),
        attempt: 1,
        text: format!("{sent}|{}", "lorem ipsum dolor sit amet ".repeat(3)),
    })
}

/// Publishes at `rate` msgs/s spread over `convs` for `duration`, one sequential publisher per
/// conversation (per-conversation order is the log's). Returns messages published per
/// conversation.
async fn publish_for(
    bus: &bus::Bus,
    convs: &[ConversationId],
    rate: f64,
    duration: Duration,
    t0: Instant,
) -> Vec<u64> {
    let per_conv = rate / convs.len() as f64;
    let period = Duration::from_secs_f64(1.0 / per_conv);
    let tasks: Vec<_> = convs
        .iter()
        .map(|conv| {
            let (bus, conv) = (bus.clone(), *conv);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let end = Instant::now() + duration;
                let mut n = 0u64;
                while Instant::now() < end {
                    tick.tick().await;
                    // In a span only when tracing is on: its context rides in the envelope.
                    let published = if platform::telemetry::exporting() {
                        use tracing::Instrument;
                        let span = tracing::info_span!("loadgen.publish");
                        bus.publish(conv, &payload(t0)).instrument(span).await
                    } else {
                        bus.publish(conv, &payload(t0)).await
                    };
                    if published.is_ok() {
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap_or(0));
    }
    out
}

#[allow(clippy::too_many_arguments)]
async fn throughput(
    env: &Env,
    name: &str,
    convs: usize,
    subs: usize,
    rate: f64,
    duration: Duration,
    ticks: f64,
) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let users = env.users(convs * subs, "t").await?;
    let mut conversations = Vec::new();
    for chunk in users.chunks(subs) {
        let ids: Vec<_> = chunk.iter().map(|(id, _)| *id).collect();
        conversations.push(env.conversation(&ids).await?);
    }
    let shared = Arc::new(Shared::default());
    let (_sub_tx, sub_rx) = watch::channel(true);
    let (stop_tx, stop_rx) = watch::channel(false);
    let ports: Vec<u16> = env.gateways.iter().map(|g| g.port).collect();
    let specs = users
        .iter()
        .enumerate()
        .map(|(i, (_, token))| Spec {
            ports: vec![ports[i % ports.len()]],
            token: token.clone(),
            conversation: conversations[i / subs].0,
            subscribe: true,
            gate: None,
            t0,
        })
        .collect();
    let handles = spawn_clients(specs, &shared, &sub_rx, &stop_rx).await;
    let n = (convs * subs) as u64;
    wait_for("clients to subscribe", Duration::from_secs(120), || {
        shared.subscribed.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed) >= n
    })
    .await?;
    // Let presence and registry chatter of the connection phase settle.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let pids = env.pids();
    let cpu0: Vec<Duration> = pids.iter().map(|p| env::cpu_time(*p, ticks)).collect();
    let own0 = env::cpu_time(std::process::id(), ticks);
    let redis0 = env::cpu_time(env.redis_pid(), ticks);
    let started = Instant::now();
    let published = publish_for(&env.bus, &conversations, rate, duration, t0).await;
    let publish_secs = started.elapsed().as_secs_f64();
    let expected: u64 = published.iter().sum::<u64>() * subs as u64;
    let _ = wait_for("deliveries to drain", Duration::from_secs(15), || {
        shared.delivered.load(Ordering::Relaxed) >= expected
    })
    .await;
    let cpu1: Vec<Duration> = pids.iter().map(|p| env::cpu_time(*p, ticks)).collect();
    let own = env::cpu_time(std::process::id(), ticks).saturating_sub(own0);
    let redis = env::cpu_time(env.redis_pid(), ticks).saturating_sub(redis0);
    let rss: Vec<u64> = pids.iter().map(|p| env::rss(*p)).collect();
    stop_tx.send_replace(true);
    let mut outcomes = Vec::new();
    for h in handles {
        if let Ok(o) = h.await {
            outcomes.push(o);
        }
    }
    report(name, expected, publish_secs, &outcomes, &cpu0, &cpu1, &rss);
    println!(
        "other CPU in the window: load generator {:.2} s, redis-server {:.2} s (of {:.0} core-seconds)",
        own.as_secs_f64(),
        redis.as_secs_f64(),
        started.elapsed().as_secs_f64() * 2.0
    );
    Ok(())
}

fn report(
    name: &str,
    expected: u64,
    secs: f64,
    outcomes: &[Outcome],
    cpu0: &[Duration],
    cpu1: &[Duration],
    rss: &[u64],
) {
    let delivered: u64 = outcomes.iter().map(|o| o.delivered).sum();
    let dups: u64 = outcomes.iter().map(|o| o.duplicates).sum();
    let gaps: u64 = outcomes.iter().map(|o| o.gaps).sum();
    let errors = outcomes.iter().filter(|o| o.error.is_some()).count();
    let mut lat: Vec<u32> = outcomes
        .iter()
        .flat_map(|o| o.latencies_us.iter().copied())
        .collect();
    lat.sort_unstable();
    let cpu: Vec<f64> = cpu0
        .iter()
        .zip(cpu1)
        .map(|(a, b)| b.saturating_sub(*a).as_secs_f64())
        .collect();
    let cpu_total: f64 = cpu.iter().sum();
    println!("\n## {name}");
    println!(
        "delivered/expected {delivered}/{expected}  lost {}  gaps {gaps}  duplicates {dups}  client errors {errors}",
        expected.saturating_sub(delivered)
    );
    println!(
        "latency ms p50 {:.2}  p99 {:.2}  p999 {:.2}  max {:.2}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        percentile(&lat, 0.999),
        lat.last().map_or(0.0, |m| f64::from(*m) / 1000.0)
    );
    println!(
        "deliveries/s {:.0}  gateway CPU {:.2} s ({}) = {:.2} µs/delivery  RSS {}",
        delivered as f64 / secs,
        cpu_total,
        cpu.iter()
            .map(|c| format!("{c:.2}"))
            .collect::<Vec<_>>()
            .join(" + "),
        if delivered > 0 {
            cpu_total * 1e6 / delivered as f64
        } else {
            0.0
        },
        rss.iter()
            .map(|r| format!("{:.1} MB", *r as f64 / 1e6))
            .collect::<Vec<_>>()
            .join(" + ")
    );
}

/// Memory per idle connection: RSS growth of the gateways divided by the sockets they hold,
/// connected only, then each subscribed to one conversation.
async fn idle(env: &Env, n: usize, hold: Duration) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let users = env.users(n, "i").await?;
    // 200 members per conversation: above the presence cap, so presence frames do not skew
    // the figure (see GatewayConfig::presence_max_members).
    let per_conv = 200;
    let mut conversations = Vec::new();
    for chunk in users.chunks(per_conv) {
        let ids: Vec<_> = chunk.iter().map(|(id, _)| *id).collect();
        conversations.push(env.conversation(&ids).await?);
    }
    let pids = env.pids();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base: Vec<u64> = pids.iter().map(|p| env::rss(*p)).collect();
    let shared = Arc::new(Shared::default());
    let (sub_tx, sub_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let ports: Vec<u16> = env.gateways.iter().map(|g| g.port).collect();
    let specs = users
        .iter()
        .enumerate()
        .map(|(i, (_, token))| Spec {
            ports: vec![ports[i % ports.len()]],
            token: token.clone(),
            conversation: conversations[i / per_conv].0,
            subscribe: false,
            // 256 subscriptions in flight at a time, so the figure is the steady state rather
            // than the high-water mark of 10,000 simultaneous requests.
            gate: Some(gate.clone()),
            t0,
        })
        .collect();
    let started = Instant::now();
    let handles = spawn_clients(specs, &shared, &sub_rx, &stop_rx).await;
    // The gateways count sockets in their registry entries; wait until all are in.
    let bus = env.bus.clone();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let nodes = bus.list_nodes().await.unwrap_or_default();
        let conns: u64 = nodes
            .iter()
            .filter_map(|n| serde_json::from_str::<serde_json::Value>(&n.info).ok())
            .filter_map(|v| v["connections"].as_u64())
            .sum();
        if conns as usize + shared.failed.load(Ordering::Relaxed) as usize >= n {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "only {conns} of {n} connected");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let connected: Vec<u64> = pids.iter().map(|p| env::rss(*p)).collect();
    sub_tx.send_replace(true);
    wait_for(
        "idle clients to subscribe",
        Duration::from_secs(120),
        || {
            shared.subscribed.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed)
                >= n as u64
        },
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let subscribed: Vec<u64> = pids.iter().map(|p| env::rss(*p)).collect();
    if !hold.is_zero() {
        eprintln!("holding {n} idle sockets for {hold:?} (gateway pids {pids:?})");
        tokio::time::sleep(hold).await;
    }
    stop_tx.send_replace(true);
    for h in handles {
        let _ = h.await;
    }
    let sum = |v: &[u64]| v.iter().sum::<u64>() as f64;
    let ok = n as u64 - shared.failed.load(Ordering::Relaxed);
    println!("\n## idle: {n} connections over 2 replicas");
    println!(
        "connected {ok}/{n} in {connect_secs:.1} s; RSS before {:.1} MB, connected {:.1} MB, subscribed {:.1} MB",
        sum(&base) / 1e6,
        sum(&connected) / 1e6,
        sum(&subscribed) / 1e6
    );
    println!(
        "memory per idle connection: {:.1} KB connected, {:.1} KB connected + subscribed",
        (sum(&connected) - sum(&base)) / ok.max(1) as f64 / 1024.0,
        (sum(&subscribed) - sum(&base)) / ok.max(1) as f64 / 1024.0
    );
    Ok(())
}

/// Time to resume `n` clients after the replica holding them is killed (SIGKILL), while events
/// keep flowing; then checks that none was lost or duplicated across the failover.
async fn resume(mut env: Env, n: usize) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let users = env.users(n, "r").await?;
    let per_conv = 250; // above the presence cap: measure resume, not presence
    let mut conversations = Vec::new();
    for chunk in users.chunks(per_conv) {
        let ids: Vec<_> = chunk.iter().map(|(id, _)| *id).collect();
        conversations.push(env.conversation(&ids).await?);
    }
    let (a, b) = (env.gateways[0].port, env.gateways[1].port);
    let shared = Arc::new(Shared::default());
    let (_sub_tx, sub_rx) = watch::channel(true);
    let (stop_tx, stop_rx) = watch::channel(false);
    let specs = users
        .iter()
        .enumerate()
        .map(|(i, (_, token))| Spec {
            ports: vec![a, b],
            token: token.clone(),
            conversation: conversations[i / per_conv].0,
            subscribe: true,
            gate: None,
            t0,
        })
        .collect();
    let handles = spawn_clients(specs, &shared, &sub_rx, &stop_rx).await;
    wait_for(
        "clients to subscribe on replica A",
        Duration::from_secs(120),
        || {
            shared.subscribed.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed)
                >= n as u64
        },
    )
    .await?;
    // Events flow before, during and after the failover (100 msg/s in all).
    let bus = env.bus.clone();
    let convs = conversations.clone();
    let publisher =
        tokio::spawn(
            async move { publish_for(&bus, &convs, 100.0, Duration::from_secs(8), t0).await },
        );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let killed_at = Instant::now();
    env.gateways[0].proc.kill();
    wait_for(
        "clients to resume on replica B",
        Duration::from_secs(120),
        || {
            shared.resumed.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed)
                >= n as u64
        },
    )
    .await?;
    let all_resumed = killed_at.elapsed();
    let published = publisher.await.unwrap_or_default();
    let expected: u64 = published.iter().sum::<u64>() * per_conv as u64;
    let _ = wait_for("deliveries to drain", Duration::from_secs(15), || {
        shared.delivered.load(Ordering::Relaxed) >= expected
    })
    .await;
    stop_tx.send_replace(true);
    let mut outcomes = Vec::new();
    for h in handles {
        if let Ok(o) = h.await {
            outcomes.push(o);
        }
    }
    let mut times: Vec<u32> = outcomes
        .iter()
        .filter_map(|o| o.resumed_at)
        .map(|t| t.saturating_duration_since(killed_at).as_micros() as u32)
        .collect();
    times.sort_unstable();
    let recovered = outcomes
        .iter()
        .filter(|o| o.recovered == Some(true))
        .count();
    let delivered: u64 = outcomes.iter().map(|o| o.delivered).sum();
    let dups: u64 = outcomes.iter().map(|o| o.duplicates).sum();
    let gaps: u64 = outcomes.iter().map(|o| o.gaps).sum();
    println!("\n## resume: {n} clients, replica A killed (SIGKILL) while 100 msg/s flow");
    println!(
        "all {} resumed on B in {:.2} s (per client p50 {:.0} ms, p99 {:.0} ms, incl. 0–250 ms jitter); recovered {recovered}/{n}",
        times.len(),
        all_resumed.as_secs_f64(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
    );
    println!(
        "delivered/expected {delivered}/{expected}  lost {}  gaps {gaps}  duplicates {dups}",
        expected.saturating_sub(delivered)
    );
    Ok(())
}
