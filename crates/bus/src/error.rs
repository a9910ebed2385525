//! The bus's one error type, and the one place Redis and pool failures are classified.

use domain::ErrorCode;
use redis::{ErrorKind, RedisError, ServerErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The configured URL cannot be used. The message never echoes the URL: it may hold a
    /// password.
    #[error("invalid REDIS_URL: {0}")]
    InvalidUrl(String),
    /// Redis cannot be reached right now (refused, timed out, connection dropped, loading). The
    /// caller may retry later; services answer 503.
    #[error("redis unavailable: {0}")]
    Unavailable(String),
    /// Redis answered with an error that retrying will not fix.
    #[error("redis error: {0}")]
    Redis(#[source] RedisError),
    /// Data read from Redis did not have the expected shape.
    #[error("cannot decode bus data: {0}")]
    Decode(String),
}

impl BusError {
    pub fn code(&self) -> ErrorCode {
        match self {
            BusError::Unavailable(_) => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, BusError::Unavailable(_))
    }

    pub(crate) fn timeout(what: &str) -> Self {
        BusError::Unavailable(format!("{what} timed out"))
    }
}

impl From<RedisError> for BusError {
    fn from(err: RedisError) -> Self {
        // Anything that says "the server is not there (yet)" is an outage, not a bug: it must
        // read as 503 so clients retry, never as a 500 or as the client's fault.
        let outage = err.is_io_error()
            || err.is_connection_refusal()
            || err.is_timeout()
            || err.is_connection_dropped()
            || matches!(
                err.kind(),
                ErrorKind::ClusterConnectionNotFound
                    | ErrorKind::Server(
                        ServerErrorKind::BusyLoading
                            | ServerErrorKind::TryAgain
                            | ServerErrorKind::ClusterDown
                            | ServerErrorKind::MasterDown
                    )
            );
        if outage {
            BusError::Unavailable(err.to_string())
        } else {
            BusError::Redis(err)
        }
    }
}

impl From<deadpool_redis::PoolError> for BusError {
    fn from(err: deadpool_redis::PoolError) -> Self {
        use deadpool_redis::PoolError;
        match err {
            PoolError::Backend(e) => e.into(),
            PoolError::Timeout(kind) => {
                BusError::Unavailable(format!("redis connection pool timed out ({kind:?})"))
            }
            other => BusError::Unavailable(format!("redis connection pool: {other}")),
        }
    }
}

pub(crate) fn decode_err(what: &str, err: impl std::fmt::Display) -> BusError {
    BusError::Decode(format!("{what}: {err}"))
}
