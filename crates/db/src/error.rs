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
            DbError::Unavailable(_) => ErrorCode::Unavailable,
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
            other => DbError::Query(other),
        }
    }
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
