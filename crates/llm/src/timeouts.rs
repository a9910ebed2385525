//! Timeouts applied inside every provider's stream, and the shared loop that turns a provider's
//! raw stream into [`StreamEvent`]s under them.

use std::{collections::VecDeque, future::Future, sync::Once, time::Duration};

use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use crate::{ChatStream, LlmError, StreamEvent, TimeoutPhase};

/// How long to wait, per phase. A hung server produces [`LlmError::Timeout`], never a hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the connection (TCP + TLS).
    pub connect: Duration,
    /// From sending the request until the first token (status line, headers and the first text
    /// chunk all count; keep-alive pings do not extend it).
    pub first_token: Duration,
    /// Longest silence between two chunks once the reply is flowing.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            first_token: Duration::from_secs(60),
            idle: Duration::from_secs(30),
        }
    }
}

/// The HTTP client every provider uses: our connect timeout, rustls with the ring provider.
pub(crate) fn http_client(timeouts: &Timeouts) -> Result<reqwest::Client, LlmError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .tcp_nodelay(true)
        .user_agent(concat!("chatkit-llm/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LlmError::Transport(format!("building the HTTP client: {e}")))
}

/// reqwest is built with `rustls-no-provider` (aws-lc-rs needs cmake and is slow to build on our
/// machines), so the process-wide rustls provider is ring, installed once. If something else in
/// the process installed one first, that one is used.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Runs `fut` (sending a request, reading an error body) within what is left of the first-token
/// budget.
pub(crate) async fn before_first_token<T>(
    deadline: Instant,
    fut: impl Future<Output = Result<T, LlmError>>,
) -> Result<T, LlmError> {
    match tokio::time::timeout_at(deadline, fut).await {
        Ok(result) => result,
        Err(_) => Err(LlmError::Timeout {
            phase: TimeoutPhase::FirstToken,
        }),
    }
}

/// One provider's wire format: turns raw items (SSE events, parsed chunks) into events.
pub(crate) trait Decoder: Send + 'static {
    type Raw: Send + 'static;

    /// Handles one raw item, pushing any events it completes. An `Err` ends the stream after the
    /// events already pushed.
    fn decode(&mut self, raw: Self::Raw, out: &mut VecDeque<StreamEvent>) -> Result<(), LlmError>;

    /// The body ended without the decoder having pushed `Done`: the final event if the reply is
    /// complete anyway (a format that ends with the body), or why it was cut short.
    fn finish(&mut self) -> Result<StreamEvent, LlmError>;
}

struct Drive<S, D> {
    raw: std::pin::Pin<Box<S>>,
    decoder: D,
    pending: VecDeque<StreamEvent>,
    failed: Option<LlmError>,
    first_token_deadline: Instant,
    idle: Duration,
    seen_token: bool,
    ended: bool,
}

/// Drives `raw` through `decoder` with the first-token deadline (counted from `started`) and the
/// idle gap. Yields deltas (never empty), then one `Done` or one `Err`, then ends.
pub(crate) fn drive<S, D>(raw: S, decoder: D, started: Instant, timeouts: Timeouts) -> ChatStream
where
    S: Stream<Item = D::Raw> + Send + 'static,
    D: Decoder,
{
    let state = Drive {
        raw: Box::pin(raw),
        decoder,
        pending: VecDeque::new(),
        failed: None,
        first_token_deadline: started + timeouts.first_token,
        idle: timeouts.idle,
        seen_token: false,
        ended: false,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(event) = st.pending.pop_front() {
                match &event {
                    StreamEvent::Delta(text) if text.is_empty() => continue,
                    StreamEvent::Delta(_) => st.seen_token = true,
                    StreamEvent::Done { .. } => {
                        st.ended = true;
                        st.pending.clear();
                        st.failed = None;
                    }
                }
                return Some((Ok(event), st));
            }
            if let Some(err) = st.failed.take() {
                st.ended = true;
                return Some((Err(err), st));
            }
            if st.ended {
                return None;
            }
            let (deadline, phase) = if st.seen_token {
                (Instant::now() + st.idle, TimeoutPhase::Idle)
            } else {
                (st.first_token_deadline, TimeoutPhase::FirstToken)
            };
            match tokio::time::timeout_at(deadline, st.raw.next()).await {
                Err(_) => st.failed = Some(LlmError::Timeout { phase }),
                Ok(None) => match st.decoder.finish() {
                    Ok(done) => st.pending.push_back(done),
                    Err(err) => st.failed = Some(err),
                },
                Ok(Some(raw)) => {
                    if let Err(err) = st.decoder.decode(raw, &mut st.pending) {
                        st.failed = Some(err);
                    }
                }
            }
        }
    }))
}
