//! One error type for every provider, classified by what the worker should do with it.

use std::{fmt, time::Duration};

use domain::events::FailureCode;
use reqwest::header::HeaderMap;

/// Which wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Opening the TCP/TLS connection.
    Connect,
    /// From sending the request to the first token of the reply.
    FirstToken,
    /// The gap between two chunks once the reply is flowing.
    Idle,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::FirstToken => "first token",
            TimeoutPhase::Idle => "idle gap between chunks",
        })
    }
}

/// Why a call to a provider failed. The variant says what to do: retry (after `retry_after`),
/// fall back to another provider, or give up and tell the user.
///
/// The `String`s carry the provider's own message for the log; [`LlmError::reason`] is the short
/// text for users.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// HTTP 429 or an in-stream rate-limit error. Retryable.
    #[error("rate limited by the provider (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// HTTP 503/529 or an in-stream overloaded error. Retryable.
    #[error("provider overloaded: {0}")]
    Overloaded(String),
    /// HTTP 5xx or an in-stream server error. Retryable.
    #[error("provider server error: {0}")]
    ServerError(String),
    /// A wait ran out. Retryable.
    #[error("provider timed out ({phase})")]
    Timeout { phase: TimeoutPhase },
    /// The key is missing, invalid or lacks permission. Not retryable.
    #[error("provider rejected the credentials: {0}")]
    Auth(String),
    /// Billing or hard quota exhausted (not a per-minute rate limit). Not retryable.
    #[error("provider quota exhausted: {0}")]
    QuotaExhausted(String),
    /// The provider's safety system refused the prompt or the reply. Not retryable.
    #[error("provider refused the content: {0}")]
    ContentRefused(String),
    /// The request itself is wrong (unknown model, too long, invalid parameter). Not retryable.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The provider sent something we cannot parse. Retryable, which only matters before the
    /// first token: after it no error is retried.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The connection failed or broke. Retryable before the first token.
    #[error("transport error: {0}")]
    Transport(String),
    /// The reply's budget of upstream requests was spent before this call could make one (an
    /// earlier delivery used it up). Not retryable: more attempts are what it forbids.
    #[error("no upstream attempts left for this reply")]
    AttemptsExhausted,
}

impl LlmError {
    /// Whether trying the same request again may succeed. The retry wrapper only asks this before
    /// the first token has reached the caller; after that nothing is retried.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited { .. }
                | LlmError::Overloaded(_)
                | LlmError::ServerError(_)
                | LlmError::Timeout { .. }
                | LlmError::Protocol(_)
                | LlmError::Transport(_)
        )
    }

    /// Whether another provider may serve the request: retryable errors, and also the failures
    /// that belong to this provider's account (credentials, quota). Request-shaped failures
    /// (bad request, content refusal) would fail the same way elsewhere.
    pub fn should_fall_back(&self) -> bool {
        self.is_retryable() || matches!(self, LlmError::Auth(_) | LlmError::QuotaExhausted(_))
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// A short, human reason for a `message.failed` event. Never contains provider text.
    pub fn reason(&self) -> &'static str {
        match self {
            LlmError::RateLimited { .. } => "The AI provider is rate limiting requests.",
            LlmError::Overloaded(_) => "The AI provider is overloaded.",
            LlmError::ServerError(_) => "The AI provider had an internal error.",
            LlmError::Timeout { .. } => "The AI provider did not answer in time.",
            LlmError::Auth(_) => "The AI provider rejected the configured API key.",
            LlmError::QuotaExhausted(_) => "The AI provider quota is exhausted.",
            LlmError::ContentRefused(_) => "The AI provider declined to answer this.",
            LlmError::BadRequest(_) => "The AI provider rejected the request.",
            LlmError::Protocol(_) => "The AI provider sent a malformed response.",
            LlmError::Transport(_) => "Could not reach the AI provider.",
            LlmError::AttemptsExhausted => "The AI provider kept failing; gave up for now.",
        }
    }

    /// What the user is told, for programs: the `code` of `message.failed`.
    pub fn code(&self) -> FailureCode {
        match self {
            LlmError::RateLimited { .. } => FailureCode::RateLimited,
            LlmError::Overloaded(_) => FailureCode::Overloaded,
            LlmError::Timeout { .. } => FailureCode::Timeout,
            LlmError::Auth(_) => FailureCode::Auth,
            LlmError::QuotaExhausted(_) => FailureCode::QuotaExhausted,
            LlmError::ContentRefused(_) => FailureCode::ContentFilter,
            LlmError::BadRequest(_) => FailureCode::BadRequest,
            LlmError::ServerError(_)
            | LlmError::Protocol(_)
            | LlmError::Transport(_)
            | LlmError::AttemptsExhausted => FailureCode::Unavailable,
        }
    }

    /// A stable snake_case name for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Overloaded(_) => "overloaded",
            LlmError::ServerError(_) => "server_error",
            LlmError::Timeout {
                phase: TimeoutPhase::Connect,
            } => "timeout_connect",
            LlmError::Timeout {
                phase: TimeoutPhase::FirstToken,
            } => "timeout_first_token",
            LlmError::Timeout {
                phase: TimeoutPhase::Idle,
            } => "timeout_idle",
            LlmError::Auth(_) => "auth",
            LlmError::QuotaExhausted(_) => "quota_exhausted",
            LlmError::ContentRefused(_) => "content_refused",
            LlmError::BadRequest(_) => "bad_request",
            LlmError::Protocol(_) => "protocol",
            LlmError::Transport(_) => "transport",
            LlmError::AttemptsExhausted => "attempts_exhausted",
        }
    }

    /// The generic mapping of an HTTP error status; providers refine it with their error body.
    pub(crate) fn from_status(status: u16, retry_after: Option<Duration>, message: String) -> Self {
        match status {
            401 | 403 => LlmError::Auth(message),
            402 => LlmError::QuotaExhausted(message),
            429 => LlmError::RateLimited { retry_after },
            503 | 529 => LlmError::Overloaded(message),
            408 | 500..=599 => LlmError::ServerError(format!("HTTP {status}: {message}")),
            400..=499 => LlmError::BadRequest(format!("HTTP {status}: {message}")),
            _ => LlmError::Protocol(format!("unexpected HTTP status {status}: {message}")),
        }
    }

    /// Classifies a failed reqwest call.
    pub(crate) fn from_reqwest(err: &reqwest::Error) -> Self {
        if err.is_connect() && (err.is_timeout() || source_is_timeout(err)) {
            LlmError::Timeout {
                phase: TimeoutPhase::Connect,
            }
        } else if err.is_timeout() {
            LlmError::Timeout {
                phase: TimeoutPhase::FirstToken,
            }
        } else if err.is_decode() {
            LlmError::Protocol(error_chain(err))
        } else {
            LlmError::Transport(error_chain(err))
        }
    }
}

fn source_is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = err.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        if e.to_string().contains("timed out") {
            return true;
        }
        source = e.source();
    }
    false
}

/// `error: cause: cause` on one line, for logs.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

/// The wait a response asks for: `retry-after-ms` (OpenAI), else `retry-after` in seconds
/// (fractions accepted) or as an HTTP date.
pub(crate) fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return duration_from_secs(ms / 1000.0);
    }
    let value = text("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return duration_from_secs(secs);
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// A protobuf JSON duration such as `"7s"` or `"0.5s"` (Gemini's `RetryInfo.retryDelay`).
pub(crate) fn parse_proto_duration(text: &str) -> Option<Duration> {
    duration_from_secs(text.trim().strip_suffix('s')?.parse::<f64>().ok()?)
}

fn duration_from_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// At most `max` characters of a provider body, for error messages.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after_header(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(
            retry_after_header(&headers),
            Some(Duration::from_millis(1500))
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after_header(&headers), Some(Duration::ZERO));
        assert_eq!(parse_proto_duration("7s"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_proto_duration("0.25s"),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_proto_duration("7"), None);
    }

    #[test]
    fn classification() {
        assert!(LlmError::from_status(429, None, String::new()).is_retryable());
        assert!(LlmError::from_status(529, None, String::new()).is_retryable());
        assert!(!LlmError::from_status(401, None, String::new()).is_retryable());
        assert!(LlmError::from_status(401, None, String::new()).should_fall_back());
        assert!(!LlmError::from_status(400, None, String::new()).should_fall_back());
        assert_eq!(truncate("héllo", 2), "hé…");
    }
}
