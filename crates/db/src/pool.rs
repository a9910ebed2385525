//! The connection pool and the one async door, [`run`].
//!
//! Diesel blocks, so connections live in a `deadpool` pool as [`SyncWrapper`]s and every query runs
//! on tokio's blocking pool. Our own manager (rather than `deadpool-diesel`'s) opens exactly the
//! backend the URL names, so a PostgreSQL outage surfaces PostgreSQL's own error, and checks each
//! connection before reuse so a restarted server costs one failed check, not a restart of ours.

use std::time::Duration;

use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult};
use deadpool::Runtime;
use deadpool_sync::{InteractError, SyncWrapper};
use diesel::connection::TransactionManager;
use diesel::RunQueryDsl;

use crate::conn::{Backend, DbConn, Target, DEFAULT_TIMEOUT};
use crate::error::one_line;
use crate::health::{probe_write, StorageHealth};
use crate::DbError;

/// Pool sizing and timeouts. The timeouts are what turn an outage into a quick 503 instead of
/// requests piling up behind a dead database.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_size: usize,
    /// How long `run` waits for a free connection.
    pub wait_timeout: Duration,
    /// How long opening a new connection may take.
    pub create_timeout: Duration,
    /// How long the health check of an idle connection may take.
    pub recycle_timeout: Duration,
}

impl PoolOptions {
    pub fn new(max_size: usize) -> Self {
        Self {
            max_size: max_size.max(1),
            wait_timeout: DEFAULT_TIMEOUT,
            create_timeout: DEFAULT_TIMEOUT,
            recycle_timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Opens connections for one [`Target`].
struct Manager {
    target: Target,
    connect_timeout: Duration,
}

impl managed::Manager for Manager {
    type Type = SyncWrapper<DbConn>;
    type Error = DbError;

    async fn create(&self) -> Result<Self::Type, DbError> {
        let target = self.target.clone();
        let timeout = self.connect_timeout;
        SyncWrapper::new(Runtime::Tokio1, move || target.establish(timeout)).await
    }

    async fn recycle(&self, obj: &mut Self::Type, _: &Metrics) -> RecycleResult<DbError> {
        // A closure panicked while holding it: its state is unknown.
        if obj.is_mutex_poisoned() {
            return Err(RecycleError::message("connection poisoned by a panic"));
        }
        obj.interact(|conn| {
            // A transaction left open (or a failed rollback) must not leak into the next user.
            if <DbConn as TransactionManager<DbConn>>::is_broken_transaction_manager(conn) {
                return Err(DbError::Unavailable(
                    "connection left in a transaction".to_owned(),
                ));
            }
            diesel::sql_query("SELECT 1").execute(conn)?;
            Ok(())
        })
        .await
        .map_err(|e| RecycleError::message(format!("health check panicked: {e}")))?
        .map_err(RecycleError::Backend)
    }
}

/// A cheap-to-clone handle to the pool.
#[derive(Clone)]
pub struct DbPool {
    pool: managed::Pool<Manager>,
    backend: Backend,
    storage: StorageHealth,
}

impl std::fmt::Debug for DbPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("DbPool")
            .field("backend", &self.backend)
            .field("size", &status.size)
            .field("available", &status.available)
            .field("max_size", &status.max_size)
            .finish()
    }
}

/// A snapshot for metrics and `/ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    pub size: usize,
    pub available: usize,
    pub waiting: usize,
}

impl DbPool {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn status(&self) -> PoolStatus {
        let s = self.pool.status();
        PoolStatus {
            max_size: s.max_size,
            size: s.size,
            available: s.available,
            waiting: s.waiting,
        }
    }

    /// Closes the pool: waiting and future `run` calls fail with `Unavailable`. For shutdown.
    pub fn close(&self) {
        self.pool.close();
    }
}

/// Builds a pool with default timeouts. Lazy: no connection is opened, so a service can start
/// (and report not-ready) while the database is still coming up; only the URL is validated.
pub async fn connect(url: &str, max_size: usize) -> Result<DbPool, DbError> {
    connect_with(url, PoolOptions::new(max_size)).await
}

pub async fn connect_with(url: &str, options: PoolOptions) -> Result<DbPool, DbError> {
    let target = Target::parse(url)?;
    let backend = target.backend();
    let manager = Manager {
        target,
        connect_timeout: options.create_timeout,
    };
    let pool = managed::Pool::builder(manager)
        .max_size(options.max_size.max(1))
        .wait_timeout(Some(options.wait_timeout))
        .create_timeout(Some(options.create_timeout))
        .recycle_timeout(Some(options.recycle_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::InvalidUrl(format!("DATABASE_URL: cannot build the pool: {e}")))?;
    Ok(DbPool {
        pool,
        backend,
        storage: StorageHealth::default(),
    })
}

/// Runs `f` with a pooled connection on the blocking pool.
///
/// The connection goes back to the pool when `f` returns; it is never held across an `.await` of
/// the caller. Each call is one `db` span (issue 23) — the database round trips of one use-case
/// step, named by the calling line (`code.filepath`, `code.lineno`; `#[track_caller]`, which is
/// why this is not an `async fn`) — and that span is entered on the blocking thread, so query
/// logs keep their request context. A failure that is not an answer (the database is down,
/// cannot store, a broken query) marks the span as an error with its cause.
#[track_caller]
pub fn run<T, F>(
    pool: &DbPool,
    f: F,
) -> impl std::future::Future<Output = Result<T, DbError>> + Send + '_
where
    F: FnOnce(&mut DbConn) -> Result<T, DbError> + Send + 'static,
    T: Send + 'static,
{
    use tracing::Instrument;
    let caller = std::panic::Location::caller();
    let span = tracing::info_span!(
        "db",
        otel.kind = "client",
        db.system.name = match pool.backend {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
        },
        code.filepath = caller.file(),
        code.lineno = caller.line(),
        otel.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    let inner = span.clone();
    async move {
        let conn = pool.pool.get().await.map_err(from_pool_error);
        let result = match conn {
            Ok(conn) => {
                let entered_span = inner.clone();
                let result = conn
                    .interact(move |c| {
                        let _entered = entered_span.enter();
                        f(c)
                    })
                    .await
                    .map_err(from_interact_error);
                match result {
                    Ok(result) => {
                        pool.storage.observe(&result);
                        result
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            if !matches!(
                e,
                DbError::NotFound | DbError::Conflict(_) | DbError::ForeignKey
            ) {
                inner.record("otel.status_code", "ERROR");
                inner.record("error.type", error_type(e));
            }
        }
        result
    }
    .instrument(span)
}

/// A short, content-free name of the failure for the span (the cause goes to the log).
fn error_type(e: &DbError) -> &'static str {
    match e {
        DbError::InvalidUrl(_) => "invalid_url",
        DbError::NotFound => "not_found",
        DbError::Conflict(_) => "conflict",
        DbError::ForeignKey => "foreign_key",
        DbError::Unavailable(_) => "unavailable",
        DbError::Storage(_) => "storage",
        DbError::Query(_) => "query",
        DbError::Interact(_) => "interact",
        DbError::Migration(_) => "migration",
        DbError::Encode(_) => "encode",
    }
}

/// Answers whether the database is reachable now and, after a storage fault, whether it can store
/// again (for `/ready`; see [`crate::health`]).
pub async fn ping(pool: &DbPool) -> Result<(), DbError> {
    run(pool, |conn| {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok(())
    })
    .await?;
    if pool.storage.fault().is_none() {
        return Ok(());
    }
    run(pool, probe_write).await?;
    pool.storage.clear();
    Ok(())
}

fn from_pool_error(err: PoolError<DbError>) -> DbError {
    match err {
        PoolError::Backend(e) => e,
        PoolError::Timeout(kind) => DbError::Unavailable(format!(
            "timed out {} a database connection",
            match kind {
                managed::TimeoutType::Wait => "waiting for",
                managed::TimeoutType::Create => "opening",
                managed::TimeoutType::Recycle => "checking",
            }
        )),
        PoolError::Closed => DbError::Unavailable("the connection pool is closed".to_owned()),
        PoolError::NoRuntimeSpecified => {
            DbError::Unavailable("the connection pool has no runtime".to_owned())
        }
        PoolError::PostCreateHook(e) => DbError::Unavailable(one_line(&e.to_string())),
    }
}

fn from_interact_error(err: InteractError) -> DbError {
    match err {
        InteractError::Panic(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            DbError::Interact(msg)
        }
        InteractError::Cancelled => DbError::Interact("cancelled".to_owned()),
    }
}
