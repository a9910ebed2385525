//! The connection enum, `DATABASE_URL` parsing and the one transaction helper.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::DbError;

/// How long connecting may take before the database counts as unavailable.
pub(crate) const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// One connection type for both backends, so repositories are written once (DESIGN §3).
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Postgres(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A validated `DATABASE_URL`: which backend, and what to hand to that backend's driver.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Postgres(String),
    Sqlite(PathBuf),
}

impl std::fmt::Debug for Target {
    // The PostgreSQL URL may carry a password; never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Postgres(_) => f.write_str("Postgres(…)"),
            Target::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
        }
    }
}

impl Target {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Target::Postgres(_) => Backend::Postgres,
            Target::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Picks the backend from the scheme. Never panics: a bad URL is a configuration error the
    /// service reports at startup in one line.
    pub(crate) fn parse(url: &str) -> Result<Target, DbError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(DbError::InvalidUrl(
                "DATABASE_URL is empty (use postgres://… or sqlite://PATH)".to_owned(),
            ));
        }
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_owned()));
        }
        let rest = ["sqlite://", "sqlite:", "file://", "file:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| &url[p.len()..]);
        let Some(rest) = rest else {
            return Err(DbError::InvalidUrl(format!(
                "DATABASE_URL: unsupported scheme in `{}` (use postgres:// or sqlite://)",
                redact(url)
            )));
        };
        // sqlx-style options (`?mode=rwc`) are not ours to interpret; the path is what matters.
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(DbError::InvalidUrl(format!(
                "DATABASE_URL: no file path in `{url}` (use sqlite://PATH)"
            )));
        }
        if path == ":memory:" || path.contains("mode=memory") {
            // Every pooled connection would get its own empty database.
            return Err(DbError::InvalidUrl(
                "DATABASE_URL: in-memory SQLite cannot be shared by a pool (use sqlite://PATH)"
                    .to_owned(),
            ));
        }
        Ok(Target::Sqlite(PathBuf::from(path)))
    }

    /// Opens a connection of the backend the URL names. Blocking: call it on the blocking pool.
    pub(crate) fn establish(&self, connect_timeout: Duration) -> Result<DbConn, DbError> {
        match self {
            Target::Postgres(url) => {
                let url = with_connect_timeout(url, connect_timeout);
                Ok(DbConn::Postgres(PgConnection::establish(&url)?))
            }
            Target::Sqlite(path) => {
                create_parent_dir(path)?;
                let path_str = path.to_str().ok_or_else(|| {
                    DbError::InvalidUrl("DATABASE_URL: the SQLite path is not UTF-8".to_owned())
                })?;
                let mut conn = SqliteConnection::establish(path_str)?;
                // busy_timeout first so that switching to WAL waits for a concurrent opener.
                // Every pooled connection has its own page cache (SQLite's default: up to 2 MB),
                // which the OS page cache duplicates anyway; 256 KiB keeps a pool of 16 at 4 MB
                // instead of 32 MB per process (measured in the gateway: 0.7 KB less per idle
                // subscribed socket at 10,000 sockets).
                diesel::connection::SimpleConnection::batch_execute(
                    &mut conn,
                    "PRAGMA busy_timeout = 5000; \
                     PRAGMA foreign_keys = ON; \
                     PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; \
                     PRAGMA cache_size = -256;",
                )?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

/// Opens one connection outside any pool, for tools and test templates. Blocking.
pub fn establish(url: &str) -> Result<DbConn, DbError> {
    Target::parse(url)?.establish(DEFAULT_TIMEOUT)
}

/// The scheme alone, so a password in the URL never reaches a log line.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://…"),
        None => match url.split_once(':') {
            Some((head, _)) => format!("{head}:…"),
            None => url.chars().take(24).collect::<String>() + "…",
        },
    }
}

/// libpq waits forever for an unreachable host unless told otherwise; the pool's create timeout
/// would give up but leave a blocking thread stuck, so bound the connect itself too.
fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    // libpq treats values below 2 seconds as 2.
    let secs = timeout.as_secs().max(2);
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout={secs}")
}

fn create_parent_dir(path: &Path) -> Result<(), DbError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => std::fs::create_dir_all(dir)
            .map_err(|e| {
                DbError::Unavailable(format!(
                    "cannot create the SQLite directory {}: {e}",
                    dir.display()
                ))
            }),
        _ => Ok(()),
    }
}

/// Runs `f` in a transaction that takes the write lock up front on SQLite.
///
/// A deferred SQLite transaction that reads and then writes fails at once with `SQLITE_BUSY`
/// (no busy wait) when another connection wrote in between; `BEGIN IMMEDIATE` makes it queue
/// behind `busy_timeout` instead. PostgreSQL gets an ordinary transaction. Nested calls become
/// savepoints on both backends.
pub fn transaction<T, F>(conn: &mut DbConn, f: F) -> Result<T, DbError>
where
    F: FnOnce(&mut DbConn) -> Result<T, DbError>,
{
    let began_immediate = match conn {
        DbConn::Postgres(_) => false,
        DbConn::Sqlite(c) => {
            let depth =
                <AnsiTransactionManager as TransactionManager<SqliteConnection>>::transaction_manager_status_mut(c)
                    .transaction_depth()?;
            if depth.is_none() {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
                true
            } else {
                false
            }
        }
    };
    if !began_immediate {
        return conn.transaction(f);
    }
    let result = f(conn);
    let DbConn::Sqlite(c) = conn else {
        return result;
    };
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(c)?;
            Ok(value)
        }
        Err(err) => {
            // The original error is the interesting one; a failed rollback leaves the
            // transaction manager broken and the pool discards the connection.
            let _ = AnsiTransactionManager::rollback_transaction(c);
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_pick_the_backend() {
        assert_eq!(
            Target::parse("postgres://u:p@h/db").ok(),
            Some(Target::Postgres("postgres://u:p@h/db".into()))
        );
        assert!(matches!(
            Target::parse("postgresql://h/db"),
            Ok(Target::Postgres(_))
        ));
        assert_eq!(
            Target::parse("sqlite:///tmp/a/b.db").ok(),
            Some(Target::Sqlite("/tmp/a/b.db".into()))
        );
        assert_eq!(
            Target::parse("sqlite:data/x.db").ok(),
            Some(Target::Sqlite("data/x.db".into()))
        );
        assert_eq!(
            Target::parse("sqlite://data/x.db?mode=rwc").ok(),
            Some(Target::Sqlite("data/x.db".into()))
        );
        assert_eq!(
            Target::parse("file:/tmp/y.db").ok(),
            Some(Target::Sqlite("/tmp/y.db".into()))
        );
    }

    #[test]
    fn bad_urls_name_the_variable_and_hide_secrets() {
        for url in [
            "mysql://root:secret@h/db",
            "",
            "sqlite://",
            "sqlite::memory:",
            "localhost:5432",
        ] {
            let err = Target::parse(url).err();
            let msg = err.as_ref().map(ToString::to_string).unwrap_or_default();
            assert!(
                matches!(err, Some(DbError::InvalidUrl(_))),
                "{url}: {err:?}"
            );
            assert!(msg.contains("DATABASE_URL"), "{msg}");
            assert!(!msg.contains("secret"), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn connect_timeout_is_added_once() {
        let d = Duration::from_secs(5);
        assert_eq!(
            with_connect_timeout("postgres://h/db", d),
            "postgres://h/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=disable", d),
            "postgres://h/db?sslmode=disable&connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/db?connect_timeout=1", d),
            "postgres://h/db?connect_timeout=1"
        );
    }
}
