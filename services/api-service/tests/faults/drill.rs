//! One fault drill: a deployment in-process, traffic, faults at random moments, resuming
//! clients, and the counts and assertions of `main.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_service::startup::Application;
use bus::Bus;
use domain::events::ConversationEvent;
use domain::{ConversationId, MessageStatus};
use llm_worker::CancellationToken;
use platform::Settings;
use serde_json::{json, Value};
use testkit::services::Backend;
use testkit::{PgCluster, RedisServer, TestSqlite};
use tokio::task::JoinHandle;

/// How long messages are sent for.
const TRAFFIC: Duration = Duration::from_secs(9);
/// One send every this often, round-robin over the conversations.
const SEND_EVERY: Duration = Duration::from_millis(120);
const CONVERSATIONS: usize = 3;
/// How long every accepted message may take to be answered after the traffic stops (the relay
/// waits `outbox_relay_after_ms` before it puts a lost job again).
const SETTLE: Duration = Duration::from_secs(90);

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// kill -9 of redis-server, restarted on the same port and directory a moment later.
    KillRedis,
    /// `SAVE`, more traffic, then kill -9: the restart loads the older snapshot.
    SnapshotThenKillRedis,
    /// A worker killed (its task aborted) mid-whatever; a new one starts.
    KillWorker,
    /// PostgreSQL stopped for a moment, then started again.
    StopPostgres,
}

enum DbGuard {
    Sqlite(#[allow(dead_code)] TestSqlite),
    Postgres(#[allow(dead_code)] testkit::TestDatabase),
}

pub struct Drill {
    base: String,
    http: reqwest::Client,
    settings: Settings,
    state: api_service::state::AppState,
    token: String,
    conversations: Vec<i64>,
    _server: JoinHandle<std::io::Result<()>>,
    _db: DbGuard,
}

/// What the resuming clients saw.
#[derive(Default)]
struct Seen {
    /// (epoch, offset) → the event there; a second, different event at the same place is a lie.
    positions: HashMap<(i64, String, u64), String>,
    delivered: u64,
    reloads: u64,
    gaps: Vec<String>,
    lies: Vec<String>,
    /// (epoch, job) → `message.completed` announcements.
    completions: BTreeMap<(String, String), u32>,
    failures_announced: u64,
    /// Generations started again (attempt 2 or later): replies resumed after a fault.
    resumed: u64,
}

/// Fast timings so a drill settles in seconds.
fn drill_settings(settings: &mut Settings) {
    let llm = &mut settings.llm;
    // Replies stream for about a second, so a fault often lands mid-reply.
    llm.mock_tokens_per_sec = 60;
    llm.reclaim_idle_ms = 2_000;
    llm.reclaim_interval_ms = 200;
    llm.heartbeat_ms = 200;
    llm.lease_ms = 1_000;
    llm.outbox_interval_ms = 200;
    llm.outbox_relay_after_ms = 1_000;
    settings.rate_limit.sends_per_minute = 100_000;
}

/// A small deterministic generator, so a failing run can be repeated with `FAULT_SEED`.
struct Rng(u64);

impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("FAULT_SEED={seed}");
        Rng(seed)
    }

    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let span = (high - low).as_millis() as u64;
        low + Duration::from_millis(self.0 % span.max(1))
    }
}

impl Drill {
    pub async fn new(backend: Backend, redis: &RedisServer) -> Drill {
        assert_eq!(
            backend,
            Backend::Sqlite,
            "PostgreSQL drills use on_postgres"
        );
        let sqlite = TestSqlite::new();
        let url = sqlite.url();
        Self::start(&url, redis, DbGuard::Sqlite(sqlite)).await
    }

    pub async fn on_postgres(cluster: &'static PgCluster, redis: &RedisServer) -> Drill {
        let database = cluster.fresh_database();
        let url = database.url();
        Self::start(&url, redis, DbGuard::Postgres(database)).await
    }

    async fn start(database_url: &str, redis: &RedisServer, db: DbGuard) -> Drill {
        let mut settings = Settings::for_tests(database_url, &redis.url(), "drill:").unwrap();
        drill_settings(&mut settings);
        let app = Application::build(settings.clone()).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let server = tokio::spawn(app.run_until_stopped());
        let http = reqwest::Client::new();
        let mut drill = Drill {
            base,
            http,
            settings,
            state,
            token: String::new(),
            conversations: Vec::new(),
            _server: server,
            _db: db,
        };
        drill.token = drill
            .post(
                "/api/v1/auth/register",
                json!({"username": "driller", "email": "driller@example.com", "password": "passw0rd-long"}),
            )
            .await
            .1["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let character = drill
            .post(
                "/api/v1/characters",
                json!({"name": "Luna", "description": "d", "personality": "p",
                       "greeting": "Hi {{user}}", "system_prompt": "You are {{char}}.",
                       "tags": [], "visibility": "private"}),
            )
            .await
            .1["id"]
            .as_i64()
            .unwrap();
        for _ in 0..CONVERSATIONS {
            let (status, body) = drill
                .post(
                    "/api/v1/conversations",
                    json!({"kind": "ai_chat", "character_id": character}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            drill.conversations.push(body["id"].as_i64().unwrap());
        }
        drill
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                (status, resp.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    fn start_worker(&self) -> JoinHandle<()> {
        let worker = llm_worker::Worker::build(
            &self.settings,
            self.state.db.clone(),
            self.state.bus.clone(),
        )
        .unwrap();
        tokio::spawn(worker.run(CancellationToken::new()))
    }

    /// Sends, breaks, settles, counts and asserts.
    pub async fn run(self, faults: &[Fault], redis: &RedisServer, pg: Option<&PgCluster>) {
        let mut rng = Rng::from_env();
        let mut workers = vec![self.start_worker(), self.start_worker()];
        let seen = Arc::new(Mutex::new(Seen::default()));
        let following = CancellationToken::new();
        let follower = tokio::spawn(follow(
            self.state.bus.clone(),
            self.conversations.clone(),
            seen.clone(),
            following.clone(),
        ));

        let drill = Arc::new(self);
        let sender = tokio::spawn(send_messages(drill.clone()));
        let started = Instant::now();
        let mut log = Vec::new();
        for fault in faults {
            tokio::time::sleep(
                rng.between(Duration::from_millis(800), Duration::from_millis(2500)),
            )
            .await;
            let at = started.elapsed();
            match fault {
                Fault::KillRedis => {
                    redis.stop();
                    tokio::time::sleep(
                        rng.between(Duration::from_millis(200), Duration::from_millis(1500)),
                    )
                    .await;
                    redis.resume();
                }
                Fault::SnapshotThenKillRedis => {
                    let client = redis::Client::open(redis.url()).unwrap();
                    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
                    let _: () = redis::cmd("SAVE").query_async(&mut conn).await.unwrap();
                    tokio::time::sleep(
                        rng.between(Duration::from_millis(1000), Duration::from_millis(2500)),
                    )
                    .await;
                    redis.stop();
                    redis.resume();
                }
                Fault::KillWorker => {
                    let victim = workers.remove(0);
                    victim.abort();
                    let _ = victim.await;
                    workers.push(drill.start_worker());
                }
                Fault::StopPostgres => {
                    let pg = pg.expect("a PostgreSQL drill");
                    pg.stop();
                    tokio::time::sleep(
                        rng.between(Duration::from_millis(1000), Duration::from_millis(2500)),
                    )
                    .await;
                    pg.resume();
                }
            }
            log.push(format!("{fault:?} at {at:.1?}"));
        }
        let sent = sender.await.unwrap();

        // Every accepted message is answered or visibly failed.
        let deadline = Instant::now() + SETTLE;
        let mut finished: BTreeMap<&'static str, u64> = BTreeMap::new();
        for job_id in &sent.accepted {
            loop {
                let id = job_id.clone();
                let row = db::run(&drill.state.db, move |c| {
                    db::messages::find_by_job_id(c, &id)
                })
                .await
                .ok()
                .flatten();
                match row {
                    Some(r) if r.status == MessageStatus::Complete => {
                        *finished.entry("complete").or_default() += 1;
                        break;
                    }
                    Some(r) if r.status == MessageStatus::Failed => {
                        *finished.entry("failed").or_default() += 1;
                        break;
                    }
                    Some(r) if r.status == MessageStatus::Cancelled => {
                        *finished.entry("cancelled").or_default() += 1;
                        break;
                    }
                    other => {
                        assert!(
                            Instant::now() < deadline,
                            "accepted message {job_id} has no finished reply after {SETTLE:?}: {:?} ({})",
                            other.map(|r| r.status),
                            log.join(", ")
                        );
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
        // Let the resuming clients catch up with the last announcements.
        tokio::time::sleep(Duration::from_secs(1)).await;
        following.cancel();
        follower.await.unwrap();
        for w in workers {
            w.abort();
        }

        let seen = seen.lock().unwrap();
        let announced: u32 = seen.completions.values().sum();
        let twice: Vec<_> = seen
            .completions
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|((epoch, job), n)| format!("{job} {n}x in epoch {epoch}"))
            .collect();
        eprintln!(
            "drill: faults [{}]; sends {} (202: {}, other: {:?}); replies {:?}; \
             resuming clients: {} events delivered, {} reloads (recovered: false), \
             {} completions and {} failures announced, {} generations resumed",
            log.join(", "),
            sent.attempts,
            sent.accepted.len(),
            sent.other,
            finished,
            seen.delivered,
            seen.reloads,
            announced,
            seen.failures_announced,
            seen.resumed,
        );
        assert!(!sent.accepted.is_empty(), "some messages were accepted");
        assert_eq!(sent.other.get(&500), None, "no request answered 500");
        assert!(seen.gaps.is_empty(), "silent gaps: {:?}", seen.gaps);
        assert!(seen.lies.is_empty(), "positions reused: {:?}", seen.lies);
        assert!(twice.is_empty(), "announced twice: {twice:?}");
    }
}

struct Sent {
    attempts: u64,
    accepted: Vec<String>,
    /// Status → count of the sends not accepted (0 = no answer).
    other: BTreeMap<u16, u64>,
}

async fn send_messages(drill: Arc<Drill>) -> Sent {
    let mut sent = Sent {
        attempts: 0,
        accepted: Vec::new(),
        other: BTreeMap::new(),
    };
    let until = Instant::now() + TRAFFIC;
    let mut i = 0usize;
    while Instant::now() < until {
        let conv = drill.conversations[i % drill.conversations.len()];
        let (status, body) = drill
            .post(
                &format!("/api/v1/conversations/{conv}/messages"),
                json!({"content": format!("message {i}"), "client_id": format!("drill-{i}")}),
            )
            .await;
        sent.attempts += 1;
        if status == 202 {
            sent.accepted
                .push(body["job_id"].as_str().unwrap().to_owned());
        } else {
            *sent.other.entry(status).or_default() += 1;
        }
        i += 1;
        tokio::time::sleep(SEND_EVERY).await;
    }
    sent
}

/// Resuming clients: one position per conversation, advanced with `read_since` every 100 ms,
/// as the gateway resumes a socket. A `recovered: false` answer is a reload from the current
/// position (what a client does over REST).
async fn follow(
    bus: Bus,
    conversations: Vec<i64>,
    seen: Arc<Mutex<Seen>>,
    stop: CancellationToken,
) {
    let mut positions: Vec<(Option<String>, u64)> = vec![(None, 0); conversations.len()];
    loop {
        for (i, conv) in conversations.iter().enumerate() {
            let (epoch, offset) = positions[i].clone();
            let Ok(rec) = bus
                .read_since(ConversationId(*conv), epoch.as_deref(), offset, 1000)
                .await
            else {
                continue; // Redis is down: the client retries.
            };
            let mut seen = seen.lock().unwrap();
            if !rec.recovered {
                seen.reloads += 1;
                positions[i] = (Some(rec.epoch), rec.latest_offset);
                continue;
            }
            let mut expected = if epoch.as_deref() == Some(rec.epoch.as_str()) {
                offset
            } else {
                // First read in this epoch: it starts where the log starts.
                rec.entries.first().map_or(offset, |e| e.offset - 1)
            };
            for entry in &rec.entries {
                if entry.offset != expected + 1 {
                    seen.gaps.push(format!(
                        "conversation {conv} epoch {}: after {expected} came {}",
                        rec.epoch, entry.offset
                    ));
                }
                expected = entry.offset;
                let key = (*conv, rec.epoch.clone(), entry.offset);
                match seen.positions.get(&key) {
                    Some(before) if *before != entry.payload => seen.lies.push(format!(
                        "conversation {conv} epoch {} offset {} changed",
                        rec.epoch, entry.offset
                    )),
                    Some(_) => {}
                    None => {
                        seen.positions.insert(key, entry.payload.clone());
                        seen.delivered += 1;
                        match entry.decode().map(|p| p.event) {
                            Ok(ConversationEvent::Completed { job_id, .. }) => {
                                *seen
                                    .completions
                                    .entry((rec.epoch.clone(), job_id))
                                    .or_default() += 1;
                            }
                            Ok(ConversationEvent::Failed { .. }) => seen.failures_announced += 1,
                            Ok(ConversationEvent::GenerationStarted { attempt, .. })
                                if attempt > 1 =>
                            {
                                seen.resumed += 1
                            }
                            _ => {}
                        }
                    }
                }
            }
            positions[i] = (Some(rec.epoch), expected.max(offset));
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}
