//! What a service's integration test needs to start that service in-process on port 0: a
//! migrated database on either backend, a Redis key prefix, and settings pointing at both.

use crate::{PgCluster, RedisServer, TestDatabase, TestRedis, TestSqlite};

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Keeps a test's database alive; dropping it drops the database.
pub enum DatabaseGuard {
    Postgres(TestDatabase),
    Sqlite(TestSqlite),
}

impl DatabaseGuard {
    pub fn url(&self) -> String {
        match self {
            DatabaseGuard::Postgres(db) => db.url(),
            DatabaseGuard::Sqlite(db) => db.url(),
        }
    }
}

/// One test's environment: its database, its Redis prefix and settings for services.
pub struct TestEnv {
    pub backend: Backend,
    pub database: DatabaseGuard,
    pub redis: TestRedis,
    pub settings: platform::Settings,
}

impl TestEnv {
    /// A migrated database (PostgreSQL: copied from a template migrated once per binary) and a
    /// fresh Redis prefix on the shared server.
    pub async fn new(backend: Backend) -> TestEnv {
        crate::install_tls();
        let database = match backend {
            Backend::Postgres => DatabaseGuard::Postgres(migrated_postgres()),
            Backend::Sqlite => {
                let sqlite = TestSqlite::new();
                let pool = db::connect(&sqlite.url(), 1).await.expect("sqlite pool");
                db::migrate(&pool).await.expect("migrate sqlite");
                DatabaseGuard::Sqlite(sqlite)
            }
        };
        let redis = RedisServer::shared().fresh();
        let settings = platform::Settings::for_tests(&database.url(), &redis.url, &redis.prefix)
            .expect("test settings");
        TestEnv {
            backend,
            database,
            redis,
            settings,
        }
    }
}

/// A fresh PostgreSQL database with every migration applied.
pub fn migrated_postgres() -> TestDatabase {
    PgCluster::shared().database_from_template("schema", |url| {
        let url = url.to_owned();
        // The template is prepared on a thread of its own: the caller may be inside a runtime.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for migrations");
            rt.block_on(async {
                let pool = db::connect(&url, 1).await.expect("template pool");
                db::migrate(&pool).await.expect("migrate template");
            });
        })
        .join()
        .expect("migration thread");
    })
}

/// Both backends, for tests that must hold on each.
pub const BACKENDS: [Backend; 2] = [Backend::Postgres, Backend::Sqlite];

/// The operational contract every service keeps (DESIGN §1): `/health` answers, `/ready`
/// reports database and Redis as ok, unknown routes get the JSON error body, and `/metrics`
/// counts the requests just made. Panics with the failing check.
pub async fn assert_ops_contract(base_url: &str, service: &str) {
    crate::install_tls();
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{base_url}/health"))
        .send()
        .await
        .expect("GET /health");
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.expect("health json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["service"], service);

    let ready = http
        .get(format!("{base_url}/ready"))
        .send()
        .await
        .expect("GET /ready");
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("ready json");
    assert_eq!(body["checks"]["database"], "ok", "{body}");
    assert_eq!(body["checks"]["redis"], "ok", "{body}");

    let missing = http
        .get(format!("{base_url}/no/such/route"))
        .send()
        .await
        .expect("GET unknown");
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.expect("404 json");
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["status"], 404);

    let metrics = http
        .get(format!("{base_url}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("metrics text");
    assert!(
        text.contains("http_requests_total") && text.contains("route=\"/ready\""),
        "metrics should count the /ready request:\n{text}"
    );
}

/// Runs a test body once on PostgreSQL and once on SQLite, as `name::postgres` and
/// `name::sqlite`, with the calling test crate's `helpers::TestApp` (which must have
/// `async fn spawn(Backend) -> TestApp`). Bring it into scope with `use testkit::both_backends;`
/// in the test module.
// `crate::helpers` is meant to resolve in the calling test crate: each has its own TestApp.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: crate::helpers::TestApp) $body

            #[tokio::test]
            async fn postgres() {
                run(crate::helpers::TestApp::spawn($crate::services::Backend::Postgres).await).await;
            }

            #[tokio::test]
            async fn sqlite() {
                run(crate::helpers::TestApp::spawn($crate::services::Backend::Sqlite).await).await;
            }
        }
    };
}
