//! The admin overview on generated data: 10k users and 1M messages on PostgreSQL, roll-ups built
//! in bulk, then the overview timed through the repository and through HTTP, next to what the
//! same numbers cost when scanned from `messages`.
//!
//! ```text
//! cargo bench -p admin-stats --bench overview
//! BENCH_USERS=10000 BENCH_MESSAGES=1000000 BENCH_DAYS=90 BENCH_ITERATIONS=200 cargo bench -p admin-stats --bench overview
//! ```
//!
//! PostgreSQL and Redis come from the test harness (a throw-away cluster with fsync off), or
//! `BENCH_DATABASE_URL` (an empty PostgreSQL database; it is filled) and `BENCH_REDIS_URL`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use admin_stats::startup::Application;
use chrono::{Duration as Days, Utc};
use db::DbConn;
use diesel::connection::SimpleConnection;
use domain::{Role, UserId};

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn pg(conn: &mut DbConn) -> &mut diesel::PgConnection {
    match conn {
        DbConn::Postgres(c) => c,
        DbConn::Sqlite(_) => panic!("the benchmark runs on PostgreSQL"),
    }
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    println!("  {what:<52} {:>8.1} s", started.elapsed().as_secs_f64());
    out
}

struct Summary {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort_unstable();
    let n = samples.len();
    let at = |q: f64| samples[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    Summary {
        p50: at(0.50),
        p99: at(0.99),
        mean: samples.iter().sum::<Duration>() / n as u32,
    }
}

fn report(what: &str, samples: Vec<Duration>) {
    let n = samples.len();
    let s = summarize(samples);
    println!(
        "  {what:<52} p50 {:>8.2} ms   p99 {:>8.2} ms   mean {:>8.2} ms   (n={n})",
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.mean.as_secs_f64() * 1e3,
    );
}

/// Users, characters, conversations and `messages` user messages each answered by an AI reply
/// (2% failed, 2% cancelled), spread over `days` days, plus `usage_daily` — all in bulk SQL.
fn generate(conn: &mut DbConn, users: i64, messages: i64, days: i64) {
    let characters = 500;
    let conversations = users * 5;
    let pairs = messages / 2;
    let c = pg(conn);
    timed(&format!("{users} users, {characters} characters"), || {
        c.batch_execute(&format!(
            "INSERT INTO users (username, email, password_hash, role, is_active, display_name, \
               bio, created_at, updated_at, last_active_at) \
             SELECT 'user' || g, 'user' || g || '@example.com', 'x', \
                    CASE WHEN g = 1 THEN 'admin' ELSE 'user' END, g % 97 <> 0, 'User ' || g, '', \
                    now()::timestamp - make_interval(days => (g % 400)::int), now()::timestamp, \
                    now()::timestamp - make_interval(hours => (g % 2000)::int) \
             FROM generate_series(1, {users}) g; \
             INSERT INTO characters (owner_id, name, visibility, created_at, updated_at) \
             SELECT 1 + (g * 37) % {users}, 'Character ' || g, 'public', now(), now() \
             FROM generate_series(1, {characters}) g;"
        ))
        .unwrap();
    });
    timed(
        &format!("{conversations} conversations with members"),
        || {
            c.batch_execute(&format!(
                "INSERT INTO conversations (kind, title, character_id, owner_id, visibility, \
               member_limit, created_at, updated_at) \
             SELECT 'ai_chat', 'Chat ' || g, 1 + (g * 7) % {characters}, 1 + (g - 1) / 5, \
                    'private', 1, now()::timestamp - make_interval(days => {days}), now() \
             FROM generate_series(1, {conversations}) g; \
             INSERT INTO conversation_members (conversation_id, user_id, role, joined_at) \
             SELECT id, owner_id, 'owner', created_at FROM conversations;"
            ))
            .unwrap();
        },
    );
    timed(
        &format!("{} messages ({pairs} user + {pairs} AI)", pairs * 2),
        || {
            // Activity is skewed: a quarter of the users send most messages.
            c.batch_execute(&format!(
                "INSERT INTO messages (conversation_id, author_id, role, message_type, content, \
               metadata, status, created_at) \
             SELECT cv.id, cv.owner_id, 'user', 'text', 'hello ' || p.g, '{{}}', 'complete', \
                    now()::timestamp - make_interval(secs => p.age) \
             FROM (SELECT g, \
                          CASE WHEN g % 4 = 0 THEN 1 + (g * 7919) % {conversations} \
                               ELSE 1 + (g * 7919) % ({conversations} / 4) END AS conv, \
                          random() * {days} * 86400.0 AS age \
                   FROM generate_series(1::bigint, {pairs}) g) p \
             JOIN conversations cv ON cv.id = p.conv; \
             INSERT INTO messages (conversation_id, character_id, role, message_type, content, \
               metadata, reply_to_id, status, job_id, prompt_tokens, completion_tokens, model, \
               created_at) \
             SELECT m.conversation_id, cv.character_id, 'assistant', 'text', 'answer', '{{}}', \
                    m.id, CASE m.id % 50 WHEN 0 THEN 'failed' WHEN 1 THEN 'cancelled' \
                          ELSE 'complete' END, 'reply-' || m.id, \
                    200 + (m.id * 13) % 1800, CASE m.id % 50 WHEN 0 THEN 0 \
                          ELSE 20 + (m.id * 7) % 400 END, \
                    (ARRAY['openai/gpt-4o', 'openai/gpt-4o-mini', 'anthropic/claude-sonnet-4', \
                           'gemini/gemini-2.0-flash', 'mock/echo'])[1 + m.id % 5], \
                    m.created_at + interval '2 seconds' \
             FROM messages m JOIN conversations cv ON cv.id = m.conversation_id \
             WHERE m.role = 'user';"
            ))
            .unwrap();
        },
    );
    timed("usage_daily from the replies", || {
        c.batch_execute(
            "INSERT INTO usage_daily (user_id, day, model, prompt_tokens, completion_tokens, \
               messages, updated_at) \
             SELECT t.author_id, date(r.created_at), r.model, SUM(r.prompt_tokens), \
                    SUM(r.completion_tokens), COUNT(*), now() \
             FROM messages r JOIN messages t ON t.id = r.reply_to_id \
             WHERE r.role = 'assistant' AND r.status <> 'failed' \
             GROUP BY t.author_id, date(r.created_at), r.model;",
        )
        .unwrap();
    });
}

/// Latency samples per day and model: the worker records one per generation; here a skewed
/// distribution (0.4–60 s) of 500 samples per day and model is enough to fill the histogram.
fn generate_latency(conn: &mut DbConn, days: i64) {
    let models = [
        ("openai/gpt-4o", 1.0),
        ("openai/gpt-4o-mini", 0.6),
        ("anthropic/claude-sonnet-4", 1.3),
        ("gemini/gemini-2.0-flash", 0.8),
        ("mock/echo", 0.1),
    ];
    let today = Utc::now().date_naive();
    let mut rows = Vec::new();
    for d in 0..=days {
        let day = today - Days::days(d);
        for (model, scale) in models {
            let mut buckets = std::collections::BTreeMap::<i32, (i64, i64)>::new();
            for i in 0..500_i64 {
                // A deterministic long tail: most around 1–3 s, a few up to a minute.
                let x = ((i * 7919 + d * 31) % 1000) as f64 / 1000.0;
                let ms = (scale * (400.0 + 2500.0 * x * x + 57_000.0 * x.powi(40))) as i64;
                let e = buckets.entry(db::stats::latency_bucket(ms)).or_default();
                e.0 += 1;
                e.1 += ms;
            }
            for (bucket, (n, sum)) in buckets {
                rows.push(format!(
                    "('{day}', '{model}', '{}', {bucket}, {n}, {sum})",
                    db::stats::provider_of(model)
                ));
            }
        }
    }
    pg(conn)
        .batch_execute(&format!(
            "INSERT INTO latency_daily (day, model, provider, bucket, samples, sum_ms) VALUES {}",
            rows.join(", ")
        ))
        .unwrap();
}

/// The same numbers the overview shows, computed by scanning `messages` (what the roll-ups
/// avoid).
const SCAN_BASELINE: &str = "SELECT date(created_at) AS day, role, COUNT(*), \
    SUM(prompt_tokens), SUM(completion_tokens), COUNT(DISTINCT author_id) \
    FROM messages WHERE created_at >= now()::timestamp - interval '30 days' GROUP BY 1, 2";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let users = env("BENCH_USERS", 10_000);
    let messages = env("BENCH_MESSAGES", 1_000_000);
    let days = env("BENCH_DAYS", 90);
    let iterations = env("BENCH_ITERATIONS", 200) as usize;

    let (database, url) = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let db = testkit::services::migrated_postgres();
            let url = db.url();
            (Some(db), url)
        }
    };
    println!("admin overview benchmark: {users} users, {messages} messages over {days} days");
    println!("generating (bulk SQL):");
    let pool = db::connect(&url, 4).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let gen_url = url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = db::establish(&gen_url).unwrap();
        generate(&mut conn, users, messages, days);
        let report = timed("roll-ups: stats::rebuild_from_messages", || {
            db::stats::rebuild_from_messages(&mut conn).unwrap()
        });
        println!("    {report:?}");
        timed("latency histogram rows", || {
            generate_latency(&mut conn, days)
        });
        timed("VACUUM ANALYZE", || {
            pg(&mut conn).batch_execute("VACUUM ANALYZE").unwrap()
        });
        let sizes: Vec<(String, i64)> = [
            "messages",
            "users",
            "user_activity_daily",
            "daily_stats",
            "day_stats",
            "latency_daily",
            "character_daily",
            "user_monthly",
        ]
        .iter()
        .map(|t| {
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let n: Vec<N> = diesel::RunQueryDsl::load(
                diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {t}")),
                pg(&mut conn),
            )
            .unwrap();
            ((*t).to_owned(), n[0].n)
        })
        .collect();
        println!("rows: {sizes:?}");
    })
    .await
    .unwrap();

    let today = Utc::now().date_naive();
    let month_ago = today - Days::days(29);
    println!("timing (sequential, warm cache):");

    let samples = {
        let mut out = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let started = Instant::now();
            db::run(&pool, move |c| db::stats::overview(c, month_ago, today, 10))
                .await
                .unwrap();
            out.push(started.elapsed());
        }
        out
    };
    report("stats::overview, 30 days (repository)", samples);

    let baseline = {
        let mut out = Vec::new();
        for _ in 0..iterations.clamp(3, 10) {
            let started = Instant::now();
            db::run(&pool, |c| {
                pg(c).batch_execute(SCAN_BASELINE)?;
                Ok(())
            })
            .await
            .unwrap();
            out.push(started.elapsed());
        }
        out
    };
    report("baseline: the same from a scan of messages", baseline);

    let redis = match std::env::var("BENCH_REDIS_URL") {
        Ok(url) => testkit::TestRedis {
            url,
            prefix: "bench:".to_owned(),
        },
        Err(_) => testkit::RedisServer::shared().fresh(),
    };
    let settings = platform::Settings::for_tests(&url, &redis.url, &redis.prefix).unwrap();
    let token = platform::JwtKeys::new(&settings.auth)
        .issue(UserId(1), "user1", Role::Admin)
        .unwrap()
        .token;
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    for (what, path) in [
        (
            "GET /admin/stats/overview, 30 days (HTTP)",
            format!("/api/v1/admin/stats/overview?from={month_ago}&to={today}"),
        ),
        (
            "GET /admin/stats/overview, 7 days (HTTP)",
            format!(
                "/api/v1/admin/stats/overview?from={}&to={today}",
                today - Days::days(6)
            ),
        ),
        (
            "GET /admin/stats/overview, 366 days (HTTP)",
            format!(
                "/api/v1/admin/stats/overview?from={}&to={today}",
                today - Days::days(365)
            ),
        ),
        (
            "GET /admin/users?sort=tokens_month (HTTP)",
            "/api/v1/admin/users?sort=tokens_month".to_owned(),
        ),
        (
            "GET /admin/users?q=user12&sort=last_active_at (HTTP)",
            "/api/v1/admin/users?q=user12&sort=last_active_at".to_owned(),
        ),
        (
            "GET /admin/users/2/usage, 30 days (HTTP)",
            "/api/v1/admin/users/2/usage".to_owned(),
        ),
    ] {
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..iterations + 5 {
            let started = Instant::now();
            let resp = http
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{path}");
            resp.bytes().await.unwrap();
            if i >= 5 {
                samples.push(started.elapsed());
            }
        }
        report(what, samples);
    }
    server.abort();
    // BENCH_HOLD_SECS=600 keeps the database for a look with psql (EXPLAIN ANALYZE …).
    let hold = env("BENCH_HOLD_SECS", 0);
    if hold > 0 {
        println!("holding {url} for {hold} s");
        tokio::time::sleep(Duration::from_secs(hold as u64)).await;
    }
    drop(pool);
    drop(database);
}
