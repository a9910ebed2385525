//! The pool, the async door, migrations and outage behaviour.

use std::time::Duration;

use chrono::Timelike;
use db::{Backend, DbConn, DbError, PoolOptions};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use domain::ErrorCode;
use testkit::{PgCluster, TestSqlite};

use crate::support::{pg_pool, sqlite_pool};

fn short_timeouts(max_size: usize) -> PoolOptions {
    PoolOptions {
        max_size,
        wait_timeout: Duration::from_millis(500),
        create_timeout: Duration::from_secs(3),
        recycle_timeout: Duration::from_secs(3),
    }
}

#[tokio::test]
async fn bad_url_is_invalid_url_naming_database_url() {
    for url in [
        "mysql://root:hunter2@db/app",
        "",
        "redis://x",
        "sqlite::memory:",
    ] {
        let err = db::connect(url, 2).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, DbError::InvalidUrl(_)), "{url}: {err:?}");
        assert!(msg.contains("DATABASE_URL"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        assert_eq!(err.code(), ErrorCode::Internal);
    }
    let err = db::connect("mysql://root@db/app", 2).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "DATABASE_URL: unsupported scheme in `mysql://…` (use postgres:// or sqlite://)"
    );
}

#[tokio::test]
async fn backend_follows_the_scheme() {
    let file = TestSqlite::new();
    assert_eq!(
        db::connect(&file.url(), 1).await.unwrap().backend(),
        Backend::Sqlite
    );
    let pg = db::connect("postgresql://u@127.0.0.1:1/x", 1)
        .await
        .unwrap();
    assert_eq!(pg.backend(), Backend::Postgres);
}

#[tokio::test]
async fn migrate_twice_applies_nothing_the_second_time_postgres() {
    let database = PgCluster::shared().fresh_database();
    let pool = db::connect(&database.url(), 2).await.unwrap();
    let first = db::migrate(&pool).await.unwrap();
    assert!(first >= 8, "{first}");
    assert_eq!(db::migrate(&pool).await.unwrap(), 0);
    drop(pool);
}

#[tokio::test]
async fn migrate_twice_applies_nothing_the_second_time_sqlite() {
    let file = TestSqlite::new();
    let pool = db::connect(&file.url(), 2).await.unwrap();
    let first = db::migrate(&pool).await.unwrap();
    assert!(first >= 8, "{first}");
    assert_eq!(db::migrate(&pool).await.unwrap(), 0);
}

#[derive(QueryableByName)]
struct Pragma {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

#[tokio::test]
async fn sqlite_creates_its_directory_and_sets_pragmas() {
    let file = TestSqlite::new();
    let dir = file
        .url()
        .trim_start_matches("sqlite://")
        .replace("test.db", "");
    let url = format!("sqlite://{dir}nested/deeper/app.db");
    let pool = db::connect(&url, 2).await.unwrap();
    assert_eq!(db::migrate(&pool).await.unwrap(), 22);
    let (journal, fk, sync, busy, cache) = db::run(&pool, |conn| {
        let DbConn::Sqlite(c) = conn else {
            unreachable!("sqlite url")
        };
        let journal = diesel::sql_query("PRAGMA journal_mode").get_result::<Pragma>(c)?;
        let flag = |c: &mut SqliteConnection, name: &str| {
            diesel::sql_query(format!("SELECT {name} AS value FROM pragma_{name}"))
                .get_result::<Flag>(c)
                .map(|f| f.value)
        };
        Ok((
            journal.journal_mode,
            flag(c, "foreign_keys")?,
            flag(c, "synchronous")?,
            diesel::sql_query("SELECT timeout AS value FROM pragma_busy_timeout")
                .get_result::<Flag>(c)?
                .value,
            flag(c, "cache_size")?,
        ))
    })
    .await
    .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(fk, 1);
    assert_eq!(sync, 1, "NORMAL");
    assert_eq!(busy, 5000);
    assert_eq!(cache, -256, "a 256 KiB page cache per pooled connection");
    assert!(std::path::Path::new(&format!("{dir}nested/deeper/app.db")).exists());
}

#[tokio::test]
async fn connect_is_lazy_and_a_missing_server_is_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://postgres@127.0.0.1:{port}/nothing");
    let pool = db::connect_with(&url, short_timeouts(2)).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(20), db::ping(&pool))
        .await
        .expect("an outage answers, it does not hang")
        .unwrap_err();
    assert!(matches!(err, DbError::Unavailable(_)), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Unavailable);
    assert!(!err.to_string().contains('\n'), "{err}");
}

#[tokio::test]
async fn stopped_postgres_is_unavailable_and_the_same_pool_recovers() {
    let cluster = tokio::task::spawn_blocking(PgCluster::start).await.unwrap();
    let pool = db::connect_with(&cluster.url("postgres"), short_timeouts(2))
        .await
        .unwrap();
    db::ping(&pool).await.unwrap();
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .unwrap();

    for _ in 0..2 {
        let err = tokio::time::timeout(Duration::from_secs(20), db::ping(&pool))
            .await
            .expect("an outage answers, it does not hang")
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::Unavailable, "{err:?}");
    }
    let err = db::run(&pool, db::users::count).await.unwrap_err();
    assert!(matches!(err, DbError::Unavailable(_)), "{err:?}");

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.resume();
        cluster
    })
    .await
    .unwrap();
    db::ping(&pool).await.expect("the same pool works again");
    drop(pool);
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap();
}

async fn panic_is_interact_and_the_pool_recovers(pool: db::DbPool) {
    let err = db::run(&pool, |_| -> Result<(), DbError> { panic!("boom") })
        .await
        .unwrap_err();
    assert!(
        matches!(err, DbError::Interact(ref m) if m == "boom"),
        "{err:?}"
    );
    assert_eq!(err.code(), ErrorCode::Internal);
    for _ in 0..3 {
        db::ping(&pool).await.unwrap();
    }
}

#[tokio::test]
async fn panic_is_interact_and_the_pool_recovers_postgres() {
    let (pool, _database) = pg_pool().await;
    panic_is_interact_and_the_pool_recovers(pool).await;
}

#[tokio::test]
async fn panic_is_interact_and_the_pool_recovers_sqlite() {
    let (pool, _file) = sqlite_pool().await;
    panic_is_interact_and_the_pool_recovers(pool).await;
}

#[tokio::test]
async fn an_exhausted_pool_answers_unavailable_after_the_wait_timeout() {
    let file = TestSqlite::new();
    let mut options = short_timeouts(1);
    options.wait_timeout = Duration::from_millis(100);
    let pool = db::connect_with(&file.url(), options).await.unwrap();
    db::ping(&pool).await.unwrap();
    let busy = tokio::spawn({
        let pool = pool.clone();
        async move {
            db::run(&pool, |_| {
                std::thread::sleep(Duration::from_millis(800));
                Ok(())
            })
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = db::ping(&pool).await.unwrap_err();
    assert!(matches!(err, DbError::Unavailable(_)), "{err:?}");
    busy.await.unwrap().unwrap();
    db::ping(&pool).await.unwrap();
    assert_eq!(pool.status().max_size, 1);
}

both_backends!(transaction_rolls_back_on_error_and_nests, |c| {
    use db::users;
    let failed: Result<(), DbError> = db::transaction(c, |c| {
        crate::support::user(c, "ghost")?;
        Err(DbError::NotFound)
    });
    assert!(matches!(failed, Err(DbError::NotFound)));
    assert_eq!(users::find_by_username(c, "ghost")?, None);

    db::transaction(c, |c| {
        crate::support::user(c, "outer")?;
        let inner: Result<(), DbError> = db::transaction(c, |c| {
            crate::support::user(c, "inner")?;
            Err(DbError::NotFound)
        });
        assert!(inner.is_err());
        Ok(())
    })?;
    assert!(users::find_by_username(c, "outer")?.is_some());
    assert_eq!(
        users::find_by_username(c, "inner")?,
        None,
        "the savepoint rolled back"
    );
});

#[test]
fn now_is_truncated_to_microseconds() {
    for _ in 0..100 {
        assert_eq!(db::now().nanosecond() % 1_000, 0);
    }
}

#[test]
fn error_codes() {
    assert_eq!(DbError::NotFound.code(), ErrorCode::NotFound);
    assert_eq!(DbError::Conflict("x".into()).code(), ErrorCode::Conflict);
    assert_eq!(DbError::ForeignKey.code(), ErrorCode::Validation);
    assert_eq!(
        DbError::Unavailable("x".into()).code(),
        ErrorCode::Unavailable
    );
    assert_eq!(DbError::Interact("x".into()).code(), ErrorCode::Internal);
    assert_eq!(
        DbError::from(diesel::result::Error::NotFound).code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        DbError::from(diesel::result::Error::RollbackTransaction).code(),
        ErrorCode::Internal
    );
    assert!(
        DbError::Conflict("conversation_id, author_id, client_id".into())
            .is_conflict_on("author_id")
    );
    assert!(!DbError::Conflict("username".into()).is_conflict_on("user"));
}
