//! The use cases' one error type. It says what went wrong in terms of the domain, carries the
//! data a client needs (the field, the broken limit, when to retry) and knows nothing about
//! transports: REST renders it as an RFC 9457 problem (`platform::ApiError`), the gateway as an
//! `error` frame — the same `code` either way.

use domain::{ErrorCode, FieldError, ValidationError};

/// Things that exist in the use cases' world; a stranger is told only that the thing is not
/// found, never that it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Conversation,
    Message,
    Generation,
    Story,
    Member,
    Persona,
    Lorebook,
    /// A reply's context report.
    Context,
}

impl Resource {
    fn as_str(self) -> &'static str {
        match self {
            Resource::Conversation => "conversation",
            Resource::Message => "message",
            Resource::Generation => "generation",
            Resource::Story => "story",
            Resource::Member => "member",
            Resource::Persona => "persona",
            Resource::Lorebook => "lorebook",
            Resource::Context => "context report",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The resource does not exist, or the actor may not know that it does.
    #[error("{} not found", .0.as_str())]
    NotFound(Resource),
    /// The actor can see the resource but lacks the role for this action.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The action does not fit the resource's current state (a reply still streaming, nothing
    /// to regenerate, …).
    #[error("{0}")]
    Conflict(&'static str),
    /// The input breaks a rule; names the field and, for length rules, the limit.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Too many attempts; retry after this many seconds.
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    Bus(#[from] bus::BusError),
}

impl ChatError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ChatError::NotFound(_) => ErrorCode::NotFound,
            ChatError::Forbidden(_) => ErrorCode::Forbidden,
            ChatError::Conflict(_) => ErrorCode::Conflict,
            ChatError::Invalid(_) => ErrorCode::Validation,
            ChatError::RateLimited { .. } => ErrorCode::RateLimited,
            ChatError::Db(e) => e.code(),
            ChatError::Bus(e) => e.code(),
        }
    }

    /// The human sentence sent to the client. Server faults say nothing of their cause (that
    /// goes to the log through [`ChatError::cause`]).
    pub fn detail(&self) -> String {
        match self.code() {
            ErrorCode::Internal => "internal error".to_owned(),
            ErrorCode::Unavailable => "a backing service is unavailable; retry shortly".to_owned(),
            // A database "not found" reaching a client means the row vanished under us.
            ErrorCode::NotFound if matches!(self, ChatError::Db(_)) => "not found".to_owned(),
            _ => self.to_string(),
        }
    }

    /// Field-level problems for validation errors (with the limit, where there is one).
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            ChatError::Invalid(e) => vec![FieldError::from(e.clone())],
            _ => Vec::new(),
        }
    }

    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ChatError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ if self.code() == ErrorCode::Unavailable => Some(1),
            _ => None,
        }
    }

    /// The hidden cause of a server fault, for the log of the request that met it.
    pub fn cause(&self) -> Option<String> {
        match self {
            ChatError::Db(e) if e.code().http_status() >= 500 => Some(e.to_string()),
            ChatError::Bus(e) => Some(e.to_string()),
            _ => None,
        }
    }
}

/// Shorthand for the common case.
pub fn not_found(what: Resource) -> ChatError {
    ChatError::NotFound(what)
}

impl From<ChatError> for platform::ApiError {
    fn from(e: ChatError) -> Self {
        let mut api = match e.cause() {
            Some(cause) if e.code() == ErrorCode::Unavailable => {
                platform::ApiError::unavailable(cause)
            }
            Some(cause) => platform::ApiError::internal(cause),
            None => platform::ApiError::new(e.code(), e.detail()),
        };
        api.errors = e.field_errors();
        if let Some(secs) = e.retry_after_secs() {
            api.retry_after = Some(secs.max(1));
        }
        api
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_error_carries_its_limit_to_the_problem_body() {
        let e = ChatError::from(ValidationError::too_long("content", 2000));
        let api = platform::ApiError::from(e);
        let body = serde_json::to_value(api.body()).unwrap();
        assert_eq!(body["code"], "validation");
        assert_eq!(body["errors"][0]["field"], "content");
        assert_eq!(body["errors"][0]["limit"], 2000);
    }

    #[test]
    fn a_database_outage_is_unavailable_and_hides_its_cause() {
        let e = ChatError::from(db::DbError::Unavailable(
            "pool timed out at 10.0.0.3".into(),
        ));
        assert_eq!(e.code(), ErrorCode::Unavailable);
        assert!(!e.detail().contains("10.0.0.3"));
        assert!(e.cause().unwrap().contains("10.0.0.3"));
        assert_eq!(e.retry_after_secs(), Some(1));
    }

    #[test]
    fn strangers_learn_only_that_a_thing_is_not_found() {
        let e = not_found(Resource::Generation);
        assert_eq!(e.code(), ErrorCode::NotFound);
        assert_eq!(e.detail(), "generation not found");
    }
}
