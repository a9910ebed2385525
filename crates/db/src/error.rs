//! The storage error and its one mapping to [`ErrorCode`]. Every repository returns [`DbError`], so
//! a handler never inspects Diesel's error kinds itself and an outage is never reported as the
//! client's fault.

use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error as DieselError};
use domain::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `DATABASE_URL` is unusable; the message names the variable so an operator knows what to fix.
    #[error("{0}")]
    InvalidUrl(String),
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated. Carries the column list of the constraint (for example
    /// `username` or `conversation_id, author_id, client_id`), identical on both backends.
    #[error("conflict on {0}")]
    Conflict(String),
    /// A referenced row does not exist (or a row is still referenced).
    #[error("referenced row does not exist")]
    ForeignKey,
    /// The database cannot be reached right now: pool timeout, refused or closed connection.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database answers but cannot store: disk full, read-only file or transaction, I/O
    /// error, server shutting down. Also 503, and recorded by the pool so `/ready` reports the
    /// database as failing until a write succeeds again.
    #[error("database cannot store: {0}")]
    Storage(String),
    #[error("database query failed: {0}")]
    Query(DieselError),
    /// A repository closure panicked on the blocking pool.
    #[error("database task failed: {0}")]
    Interact(String),
    /// Embedded migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A value could not be encoded for storage (a job as outbox JSON).
    #[error("cannot encode {0}")]
    Encode(String),
}

impl DbError {
    /// The code clients see. Only "the database is down" is `Unavailable` (503, retry later); a
    /// broken query is `Internal` so it is not mistaken for an outage.
    pub fn code(&self) -> ErrorCode {
        match self {
            DbError::NotFound => ErrorCode::NotFound,
            DbError::Conflict(_) => ErrorCode::Conflict,
            DbError::ForeignKey => ErrorCode::Validation,
            DbError::Unavailable(_) | DbError::Storage(_) => ErrorCode::Unavailable,
            DbError::InvalidUrl(_)
            | DbError::Query(_)
            | DbError::Interact(_)
            | DbError::Migration(_)
            | DbError::Encode(_) => ErrorCode::Internal,
        }
    }

    /// True for a unique violation whose constraint covers `column`.
    pub fn is_conflict_on(&self, column: &str) -> bool {
        matches!(self, DbError::Conflict(cols) if cols.split(", ").any(|c| c == column))
    }
}

impl From<DieselError> for DbError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => DbError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DbError::Conflict(conflict_columns(info.as_ref()))
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                DbError::ForeignKey
            }
            // A send failure on PostgreSQL means the socket is gone just like a closed connection.
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => DbError::Unavailable(info.message().to_owned()),
            // A hot standby, or a database set `default_transaction_read_only` (SQLSTATE 25006).
            DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, info) => {
                DbError::Storage(one_line(info.message()))
            }
            DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
                if is_storage_fault(info.message()) =>
            {
                DbError::Storage(one_line(info.message()))
            }
            // A failed COMMIT (SQLite writes the WAL there, so a full disk shows up here) is
            // classified by the commit's own error.
            DieselError::RollbackErrorOnCommit { commit_error, .. } => DbError::from(*commit_error),
            other => DbError::Query(other),
        }
    }
}

/// Whether a database error message says the storage, not the query, is at fault.
///
/// Diesel keeps neither SQLite's result code nor PostgreSQL's SQLSTATE for these kinds, only the
/// message, so this table lists the messages: SQLite's fixed `sqlite3_errstr` texts and
/// PostgreSQL's (English `lc_messages`, as every server we start has). Each line names the code.
fn is_storage_fault(message: &str) -> bool {
    const STORAGE_FAULTS: &[&str] = &[
        // SQLite
        "database or disk is full", // SQLITE_FULL (also `max_page_count`)
        "attempt to write a readonly database", // SQLITE_READONLY (file mode, `query_only`)
        "disk I/O error",           // SQLITE_IOERR
        "unable to open database file", // SQLITE_CANTOPEN (directory gone)
        "database is locked",       // SQLITE_BUSY after busy_timeout
        // PostgreSQL
        "No space left on device", // 53100 disk_full, from the OS error text
        "could not extend file",   // 53100 disk_full
        "Disk quota exceeded",     // 53100 disk_full, EDQUOT
        "in a read-only transaction", // 25006 read_only_sql_transaction
        "due to administrator command", // 57P01 admin_shutdown
        "the database system is shutting down", // 57P03 cannot_connect_now
        "the database system is starting up", // 57P03
        "the database system is in recovery mode", // 57P03
        "crash of another server process", // 57P02 crash_shutdown
    ];
    STORAGE_FAULTS.iter().any(|needle| message.contains(needle))
}

impl From<diesel::ConnectionError> for DbError {
    fn from(err: diesel::ConnectionError) -> Self {
        match err {
            diesel::ConnectionError::InvalidConnectionUrl(msg) => {
                DbError::InvalidUrl(format!("DATABASE_URL: {msg}"))
            }
            diesel::ConnectionError::InvalidCString(_) => {
                DbError::InvalidUrl("DATABASE_URL: contains a NUL byte".to_owned())
            }
            diesel::ConnectionError::CouldntSetupConfiguration(e) => DbError::from(e),
            // BadConnection (refused, unknown host, authentication, missing database) and any
            // future kind: the database cannot be used right now.
            other => DbError::Unavailable(one_line(&other.to_string())),
        }
    }
}

/// The columns of the violated unique constraint, spelled the same way on both backends.
///
/// PostgreSQL reports `Key (a, b)=(…) already exists.` in the detail; SQLite reports
/// `UNIQUE constraint failed: t.a, t.b`. Values are never copied into the hint, so it is safe to
/// log and to show.
fn conflict_columns(info: &(dyn DatabaseErrorInformation + Send + Sync)) -> String {
    // Expression indexes: PostgreSQL names the expression, SQLite the index.
    let named = raw_conflict_columns(info);
    if named.contains("lower(username") || named.contains("users_username_lower_key") {
        return "username".to_owned();
    }
    named
}

fn raw_conflict_columns(info: &(dyn DatabaseErrorInformation + Send + Sync)) -> String {
    if let Some(cols) = info
        .details()
        .and_then(|d| d.strip_prefix("Key ("))
        .and_then(|d| d.split_once(")=(").map(|(cols, _)| cols))
    {
        return cols.to_owned();
    }
    if let Some(cols) = info.message().strip_prefix("UNIQUE constraint failed: ") {
        return cols
            .split(", ")
            .map(|c| c.rsplit_once('.').map_or(c, |(_, col)| col))
            .collect::<Vec<_>>()
            .join(", ");
    }
    info.constraint_name()
        .map(str::to_owned)
        .unwrap_or_else(|| "unique constraint".to_owned())
}

/// libpq messages span lines; logs and error bodies want one.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
