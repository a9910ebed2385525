//! Storage faults (issue 14): a database that answers but cannot store (read-only, full) is a
//! `503 unavailable` with the cause in the log, `/ready` reports it while it lasts, and the service
//! recovers without a restart once it is cleared.
//!
//! The faults are real SQLite and PostgreSQL conditions set on the very connections the service
//! uses: a pool of one connection on SQLite (`PRAGMA query_only`, `PRAGMA max_page_count`), and
//! `default_transaction_read_only` plus terminated sessions on PostgreSQL.

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use serde_json::{json, Value};
use testkit::services::Backend;

use crate::helpers::{Reply, TestApp};

fn character_body(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "description": description,
        "personality": "curious",
        "greeting": "Hello {{user}}.",
        "system_prompt": "You are {{char}}.",
        "tags": ["test"],
        "visibility": "private",
    })
}

/// A pool of one connection, so a PRAGMA set through `db::run` holds for every request.
async fn one_connection_sqlite_app() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |s| s.database.pool_size = 1).await
}

async fn sqlite(app: &TestApp, sql: &'static str) {
    db::run(&app.state.db, move |c| {
        diesel::sql_query(sql).execute(c)?;
        Ok(())
    })
    .await
    .expect(sql);
}

async fn ready(app: &TestApp) -> (u16, Value) {
    let resp = reqwest::get(app.url("/ready")).await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn wait_for_ready(app: &TestApp, want: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = ready(app).await;
        if status == want {
            return body;
        }
        assert!(Instant::now() < deadline, "/ready stayed {status}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The problem body of a storage fault: 503, code `unavailable`, a retry hint, no internals.
fn assert_unavailable(reply: Reply) {
    let retry_after = reply
        .headers
        .get("Retry-After")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = reply.expect(503);
    assert_eq!(body["code"], "unavailable", "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    let text = body.to_string();
    for internal in ["readonly", "read-only", "full", "SQLITE", "disk"] {
        assert!(
            !text.contains(internal),
            "cause leaked to the client: {text}"
        );
    }
}

async fn assert_ready_reports_the_database(app: &TestApp) {
    let (status, body) = ready(app).await;
    assert_eq!(status, 503, "{body}");
    let database = body["checks"]["database"].as_str().unwrap();
    assert!(database.starts_with("down"), "{body}");
    assert_eq!(body["checks"]["redis"], "ok", "{body}");
}

#[tokio::test]
async fn sqlite_read_only_is_503_and_recovers_without_restart() {
    let app = one_connection_sqlite_app().await;
    let user = app.register("reader").await;
    wait_for_ready(&app, 200).await;

    sqlite(&app, "PRAGMA query_only = ON").await;
    let reply = app
        .post("/api/v1/characters", &user.token, character_body("Ro", "d"))
        .await;
    assert_unavailable(reply);
    // Reads still work: only storing is refused.
    app.get("/api/v1/characters", &user.token).await.expect(200);
    assert_ready_reports_the_database(&app).await;

    sqlite(&app, "PRAGMA query_only = OFF").await;
    let body = wait_for_ready(&app, 200).await;
    assert_eq!(body["checks"]["database"], "ok");
    app.post("/api/v1/characters", &user.token, character_body("Rw", "d"))
        .await
        .expect(201);
}

#[tokio::test]
async fn sqlite_full_database_is_503_and_recovers_without_restart() {
    let app = one_connection_sqlite_app().await;
    let user = app.register("filler").await;
    wait_for_ready(&app, 200).await;

    // The file may not grow past its current size: the next insert that needs a page fails with
    // SQLITE_FULL, exactly as on a full disk.
    db::run(&app.state.db, |c| {
        #[derive(diesel::QueryableByName)]
        struct Pages {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            page_count: i64,
        }
        let pages: Pages = diesel::sql_query("PRAGMA page_count").get_result(c)?;
        diesel::sql_query(format!("PRAGMA max_page_count = {}", pages.page_count)).execute(c)?;
        Ok(())
    })
    .await
    .unwrap();
    let description = "x".repeat(1900);
    let mut stored = 0;
    let reply = loop {
        let reply = app
            .post(
                "/api/v1/characters",
                &user.token,
                character_body(&format!("C{stored}"), &description),
            )
            .await;
        if reply.status != 201 {
            break reply;
        }
        stored += 1;
        assert!(stored < 200, "the database never filled up");
    };
    assert_unavailable(reply);
    assert_ready_reports_the_database(&app).await;

    sqlite(&app, "PRAGMA max_page_count = 1073741823").await;
    wait_for_ready(&app, 200).await;
    app.post(
        "/api/v1/characters",
        &user.token,
        character_body("After", &description),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn postgres_read_only_database_is_503_and_recovers_without_restart() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let user = app.register("pgreader").await;
    wait_for_ready(&app, 200).await;

    // An operator (or a failover to a standby) makes the database read-only; the service's
    // sessions are ended (SQLSTATE 57P01) and every new one is read-only (25006).
    let url = app.env.database.url();
    let name = url.rsplit('/').next().unwrap().to_owned();
    let admin = std::sync::Arc::new(std::sync::Mutex::new(db::establish(&url).unwrap()));
    let on_admin = |sql: String| {
        let admin = admin.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = admin.lock().unwrap();
                diesel::sql_query(&sql).execute(&mut *conn).expect(&sql);
            })
            .await
            .unwrap();
        }
    };
    let end_sessions = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    );
    on_admin(format!(
        "ALTER DATABASE \"{name}\" SET default_transaction_read_only = on"
    ))
    .await;
    on_admin(end_sessions.clone()).await;

    let reply = app
        .post("/api/v1/characters", &user.token, character_body("Ro", "d"))
        .await;
    assert_unavailable(reply);
    app.get("/api/v1/characters", &user.token).await.expect(200);
    assert_ready_reports_the_database(&app).await;

    on_admin(format!(
        "ALTER DATABASE \"{name}\" RESET default_transaction_read_only"
    ))
    .await;
    on_admin(end_sessions).await;
    wait_for_ready(&app, 200).await;
    app.post("/api/v1/characters", &user.token, character_body("Rw", "d"))
        .await
        .expect(201);
}
