//! Helpers shared by the providers that read Server-Sent Events with `eventsource-stream`.

use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::Stream;

use crate::{
    error::{retry_after_header, truncate},
    LlmError,
};

/// One parsed SSE event, or why the body could not be read.
pub(crate) type SseItem = Result<Event, EventStreamError<reqwest::Error>>;

/// The events of a `text/event-stream` body.
pub(crate) fn events(response: reqwest::Response) -> impl Stream<Item = SseItem> + Send {
    response.bytes_stream().eventsource()
}

/// Classifies a failure to read the event stream: a broken connection is transport, bytes that
/// are not SSE are protocol.
pub(crate) fn stream_error(err: EventStreamError<reqwest::Error>) -> LlmError {
    match err {
        EventStreamError::Transport(e) => match LlmError::from_reqwest(&e) {
            LlmError::Protocol(msg) => LlmError::Transport(msg),
            other => other,
        },
        EventStreamError::Utf8(e) => LlmError::Protocol(format!("event stream is not UTF-8: {e}")),
        EventStreamError::Parser(e) => LlmError::Protocol(format!("unparsable event stream: {e}")),
    }
}

/// An error response: its status, the wait it asks for and its body (truncated, for logs).
pub(crate) struct ErrorResponse {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
}

impl ErrorResponse {
    pub(crate) async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let retry_after = retry_after_header(response.headers());
        let body = match response.bytes().await {
            Ok(bytes) => truncate(&String::from_utf8_lossy(&bytes), 2_000),
            Err(e) => format!("(error body unreadable: {e})"),
        };
        Self {
            status,
            retry_after,
            body,
        }
    }
}
