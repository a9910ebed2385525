//! Fake AI provider servers (DESIGN §9): real HTTP servers on `127.0.0.1:0` that replay each
//! provider's exact streaming wire format — OpenAI chat completions (`data:` chunks, a usage chunk
//! with empty `choices`, `data: [DONE]`), Anthropic Messages (named events, `ping`, `event: error`
//! after HTTP 200) and Gemini `streamGenerateContent?alt=sse` (CRLF-separated `data:` chunks, no
//! end marker) — and its error responses, mid-stream errors, malformed chunks, dropped connections
//! and hangs.
//!
//! Each request takes the next queued [`Behavior`] (or the default) and is recorded, headers and
//! JSON body, so tests can assert what was sent.

use std::{
    collections::VecDeque,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full, StreamBody};
use hyper::{
    body::{Frame, Incoming},
    server::conn::http1,
    service::service_fn,
    Request, Response,
};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle};

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// Which provider's wire format a fake server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    OpenAi,
    Anthropic,
    Gemini,
}

/// What the fake does with one request.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// A complete streamed reply: `chunks` as text deltas, then the provider's end events.
    Reply {
        chunks: Vec<String>,
        /// Normalised `(prompt, completion, cached)` totals. Encoded the provider's way: OpenAI
        /// `prompt_tokens` includes `cached_tokens`; Anthropic `input_tokens` excludes cache reads
        /// and creation (`input = prompt - cached - cache_creation`) and `output_tokens` starts at
        /// 1 in `message_start`, cumulative in `message_delta`; Gemini `promptTokenCount` includes
        /// `cachedContentTokenCount` and every chunk carries running totals.
        usage: (u32, u32, u32),
        /// Anthropic only: `cache_creation_input_tokens` (part of `prompt`).
        cache_creation: u32,
        /// Silence before the first text chunk.
        first_token_delay: Duration,
        /// Silence before each later text chunk.
        chunk_delay: Duration,
    },
    /// An error response with this status. `body: None` sends the provider's usual error body for
    /// the code. `retry_after` goes in the `retry-after` header (OpenAI, Anthropic) or in a
    /// `RetryInfo.retryDelay` of the body (Gemini).
    Status {
        code: u16,
        retry_after: Option<u64>,
        body: Option<String>,
    },
    /// HTTP 200, these text deltas, then the provider's in-stream error (OpenAI an `{"error"}`
    /// chunk, Anthropic `event: error` `overloaded_error`, Gemini an `{"error"}` chunk).
    MidStreamError { after_chunks: Vec<String> },
    /// HTTP 200, these text deltas, then a chunk whose data is not JSON.
    Malformed { after_chunks: Vec<String> },
    /// HTTP 200, these text deltas, then the connection is cut (no end of body).
    DropConnection { after_chunks: Vec<String> },
    /// With no chunks: read the request and never answer. With chunks: send headers and these
    /// deltas, then stay silent with the connection open.
    Hang { after_chunks: Vec<String> },
}

impl Behavior {
    /// A reply of these chunks with usage `(12, chunks, 0)` and no delays.
    pub fn reply(chunks: &[&str]) -> Self {
        Behavior::Reply {
            chunks: chunks.iter().map(|c| c.to_string()).collect(),
            usage: (12, chunks.len() as u32, 0),
            cache_creation: 0,
            first_token_delay: Duration::ZERO,
            chunk_delay: Duration::ZERO,
        }
    }

    /// Sets the usage of a `Reply` (no effect on other behaviours).
    pub fn with_usage(mut self, prompt: u32, completion: u32, cached: u32) -> Self {
        if let Behavior::Reply { usage, .. } = &mut self {
            *usage = (prompt, completion, cached);
        }
        self
    }

    /// Sets Anthropic's `cache_creation_input_tokens` of a `Reply`.
    pub fn with_cache_creation(mut self, tokens: u32) -> Self {
        if let Behavior::Reply { cache_creation, .. } = &mut self {
            *cache_creation = tokens;
        }
        self
    }

    /// Sets the delays of a `Reply`.
    pub fn with_delays(mut self, first_token: Duration, between_chunks: Duration) -> Self {
        if let Behavior::Reply {
            first_token_delay,
            chunk_delay,
            ..
        } = &mut self
        {
            *first_token_delay = first_token;
            *chunk_delay = between_chunks;
        }
        self
    }

    /// An error status with the provider's usual body and no retry hint.
    pub fn status(code: u16) -> Self {
        Behavior::Status {
            code,
            retry_after: None,
            body: None,
        }
    }

    /// HTTP 429 asking to retry after `secs` seconds.
    pub fn rate_limited(secs: u64) -> Self {
        Behavior::Status {
            code: 429,
            retry_after: Some(secs),
            body: None,
        }
    }

    pub fn mid_stream_error(after: &[&str]) -> Self {
        Behavior::MidStreamError {
            after_chunks: owned(after),
        }
    }

    pub fn malformed(after: &[&str]) -> Self {
        Behavior::Malformed {
            after_chunks: owned(after),
        }
    }

    pub fn drop_connection(after: &[&str]) -> Self {
        Behavior::DropConnection {
            after_chunks: owned(after),
        }
    }

    pub fn hang(after: &[&str]) -> Self {
        Behavior::Hang {
            after_chunks: owned(after),
        }
    }
}

fn owned(chunks: &[&str]) -> Vec<String> {
    chunks.iter().map(|c| c.to_string()).collect()
}

struct State {
    kind: ProviderKind,
    queue: Mutex<VecDeque<Behavior>>,
    default: Mutex<Behavior>,
    requests: Mutex<Vec<Value>>,
}

/// A running fake provider. Dropping it stops accepting connections.
pub struct FakeProvider {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FakeProvider {
    /// Binds `127.0.0.1:0` and serves until dropped. The default behaviour is
    /// `Behavior::reply(&["Hello", " from", " the", " fake"])`.
    pub async fn start(kind: ProviderKind) -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the fake provider");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State {
            kind,
            queue: Mutex::new(VecDeque::new()),
            default: Mutex::new(Behavior::reply(&["Hello", " from", " the", " fake"])),
            requests: Mutex::new(Vec::new()),
        });
        let accept_state = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = accept_state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    // Errors here are the dropped connections the tests ask for.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeProvider {
            addr,
            state,
            accept,
        }
    }

    pub fn kind(&self) -> ProviderKind {
        self.state.kind
    }

    /// The base URL a client is configured with: `http://127.0.0.1:PORT/v1` for OpenAI (the
    /// version is part of OpenAI base URLs), `http://127.0.0.1:PORT` for Anthropic and Gemini.
    pub fn base_url(&self) -> String {
        match self.state.kind {
            ProviderKind::OpenAi => format!("http://{}/v1", self.addr),
            ProviderKind::Anthropic | ProviderKind::Gemini => format!("http://{}", self.addr),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a behaviour for the next request that has none queued before it.
    pub fn push(&self, behavior: Behavior) {
        self.state.queue.lock().unwrap().push_back(behavior);
    }

    /// The behaviour once the queue is empty.
    pub fn set_default(&self, behavior: Behavior) {
        *self.state.default.lock().unwrap() = behavior;
    }

    /// Every request received so far, in order:
    /// `{"method", "path", "query", "headers": {lowercase name: value}, "body": JSON}`.
    pub fn requests(&self) -> Vec<Value> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn request_count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    let headers: serde_json::Map<String, Value> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
            )
        })
        .collect();
    let path = parts.uri.path().to_owned();
    let model = match state.kind {
        ProviderKind::Gemini => path
            .split("/models/")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .unwrap_or("gemini-fake")
            .to_owned(),
        _ => body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("fake-model")
            .to_owned(),
    };
    state.requests.lock().unwrap().push(json!({
        "method": parts.method.as_str(),
        "path": path,
        "query": parts.uri.query(),
        "headers": headers,
        "body": body,
    }));
    let behavior = {
        let next = state.queue.lock().unwrap().pop_front();
        next.unwrap_or_else(|| state.default.lock().unwrap().clone())
    };
    Ok(respond(state.kind, &model, behavior).await)
}

/// One step of a streamed body.
enum Step {
    Send(String),
    Sleep(Duration),
    /// Cut the connection.
    Drop,
    /// Keep the connection open and silent until the client goes away.
    Stall,
}

async fn respond(kind: ProviderKind, model: &str, behavior: Behavior) -> Response<Body> {
    let steps = match behavior {
        Behavior::Status {
            code,
            retry_after,
            body,
        } => return error_response(kind, code, retry_after, body),
        Behavior::Hang { after_chunks } if after_chunks.is_empty() => {
            // Read the request, never answer; the client's timeout ends this.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return error_response(kind, 500, None, None);
        }
        Behavior::Reply {
            chunks,
            usage,
            cache_creation,
            first_token_delay,
            chunk_delay,
        } => {
            let wire = Wire {
                kind,
                model,
                usage,
                cache_creation,
            };
            let mut steps = wire.opening();
            steps.extend(wire.deltas(&chunks, first_token_delay, chunk_delay, true));
            steps.extend(wire.closing());
            steps
        }
        Behavior::MidStreamError { after_chunks } => {
            let wire = Wire::plain(kind, model, &after_chunks);
            let mut steps = wire.opening();
            steps.extend(wire.deltas(&after_chunks, Duration::ZERO, Duration::ZERO, false));
            steps.push(Step::Send(wire.mid_stream_error()));
            steps
        }
        Behavior::Malformed { after_chunks } => {
            let wire = Wire::plain(kind, model, &after_chunks);
            let mut steps = wire.opening();
            steps.extend(wire.deltas(&after_chunks, Duration::ZERO, Duration::ZERO, false));
            steps.push(Step::Send(wire.malformed()));
            steps
        }
        Behavior::DropConnection { after_chunks } => {
            let wire = Wire::plain(kind, model, &after_chunks);
            let mut steps = wire.opening();
            steps.extend(wire.deltas(&after_chunks, Duration::ZERO, Duration::ZERO, false));
            // Let hyper flush what was sent (it discards its write buffer when the body fails).
            steps.push(Step::Sleep(Duration::from_millis(50)));
            steps.push(Step::Drop);
            steps
        }
        Behavior::Hang { after_chunks } => {
            let wire = Wire::plain(kind, model, &after_chunks);
            let mut steps = wire.opening();
            steps.extend(wire.deltas(&after_chunks, Duration::ZERO, Duration::ZERO, false));
            steps.push(Step::Stall);
            steps
        }
    };
    stream_response(steps)
}

fn stream_response(steps: Vec<Step>) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(16);
    tokio::spawn(async move {
        for step in steps {
            match step {
                Step::Send(text) => {
                    if tx.send(Ok(Frame::data(Bytes::from(text)))).await.is_err() {
                        return;
                    }
                }
                Step::Sleep(wait) => tokio::time::sleep(wait).await,
                Step::Drop => {
                    let cut = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut");
                    let _ = tx.send(Err(cut)).await;
                    return;
                }
                Step::Stall => {
                    tx.closed().await;
                    return;
                }
            }
        }
    });
    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(BodyExt::boxed_unsync(StreamBody::new(frames)))
        .expect("a valid response")
}

/// How one provider writes its stream.
struct Wire<'a> {
    kind: ProviderKind,
    model: &'a str,
    usage: (u32, u32, u32),
    cache_creation: u32,
}

impl<'a> Wire<'a> {
    fn plain(kind: ProviderKind, model: &'a str, chunks: &[String]) -> Self {
        Wire {
            kind,
            model,
            usage: (12, chunks.len() as u32, 0),
            cache_creation: 0,
        }
    }

    fn openai_chunk(&self, delta: Value, finish_reason: Value) -> String {
        let chunk = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish_reason,
            }],
            "usage": null,
        });
        format!("data: {chunk}\n\n")
    }

    fn anthropic_event(name: &str, data: Value) -> String {
        format!("event: {name}\ndata: {data}\n\n")
    }

    fn gemini_chunk(&self, text: &str, completion_so_far: u32, finish: bool) -> String {
        let (prompt, _, cached) = self.usage;
        let mut usage = json!({
            "promptTokenCount": prompt,
            "candidatesTokenCount": completion_so_far,
            "totalTokenCount": prompt + completion_so_far,
        });
        if cached > 0 {
            usage["cachedContentTokenCount"] = json!(cached);
        }
        let mut candidate = json!({
            "content": { "parts": [{ "text": text }], "role": "model" },
            "index": 0,
        });
        if finish {
            candidate["finishReason"] = json!("STOP");
        }
        let chunk = json!({
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": self.model,
            "responseId": "fake-response",
        });
        format!("data: {chunk}\r\n\r\n")
    }

    /// Events before the first text.
    fn opening(&self) -> Vec<Step> {
        match self.kind {
            ProviderKind::OpenAi => vec![Step::Send(self.openai_chunk(
                json!({ "role": "assistant", "content": "", "refusal": null }),
                Value::Null,
            ))],
            ProviderKind::Anthropic => {
                let (prompt, _, cached) = self.usage;
                let input = prompt.saturating_sub(cached + self.cache_creation);
                vec![
                    Step::Send(Self::anthropic_event(
                        "message_start",
                        json!({
                            "type": "message_start",
                            "message": {
                                "id": "msg_fake",
                                "type": "message",
                                "role": "assistant",
                                "model": self.model,
                                "content": [],
                                "stop_reason": null,
                                "stop_sequence": null,
                                "usage": {
                                    "input_tokens": input,
                                    "cache_creation_input_tokens": self.cache_creation,
                                    "cache_read_input_tokens": cached,
                                    "output_tokens": 1,
                                },
                            },
                        }),
                    )),
                    Step::Send(Self::anthropic_event(
                        "content_block_start",
                        json!({
                            "type": "content_block_start",
                            "index": 0,
                            "content_block": { "type": "text", "text": "" },
                        }),
                    )),
                    Step::Send(Self::anthropic_event("ping", json!({ "type": "ping" }))),
                ]
            }
            ProviderKind::Gemini => Vec::new(),
        }
    }

    /// The text deltas. For a complete Gemini reply the last chunk carries the finish reason
    /// and the final usage (Gemini has no separate end event).
    fn deltas(
        &self,
        chunks: &[String],
        first_delay: Duration,
        chunk_delay: Duration,
        complete: bool,
    ) -> Vec<Step> {
        let mut steps = Vec::new();
        let n = chunks.len() as u32;
        let completion = self.usage.1;
        for (i, text) in chunks.iter().enumerate() {
            let wait = if i == 0 { first_delay } else { chunk_delay };
            if !wait.is_zero() {
                steps.push(Step::Sleep(wait));
            }
            let event = match self.kind {
                ProviderKind::OpenAi => self.openai_chunk(json!({ "content": text }), Value::Null),
                ProviderKind::Anthropic => Self::anthropic_event(
                    "content_block_delta",
                    json!({
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": { "type": "text_delta", "text": text },
                    }),
                ),
                ProviderKind::Gemini => {
                    let i = i as u32 + 1;
                    let so_far = (completion * i).div_ceil(n.max(1));
                    self.gemini_chunk(text, so_far, complete && i == n)
                }
            };
            steps.push(Step::Send(event));
        }
        if complete && chunks.is_empty() && self.kind == ProviderKind::Gemini {
            if !first_delay.is_zero() {
                steps.push(Step::Sleep(first_delay));
            }
            steps.push(Step::Send(self.gemini_chunk("", completion, true)));
        }
        steps
    }

    /// Events after the last text of a complete reply.
    fn closing(&self) -> Vec<Step> {
        let (prompt, completion, cached) = self.usage;
        match self.kind {
            ProviderKind::OpenAi => {
                let usage = json!({
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": 1_700_000_000,
                    "model": self.model,
                    "system_fingerprint": "fp_fake",
                    "choices": [],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                        "prompt_tokens_details": { "cached_tokens": cached, "audio_tokens": 0 },
                        "completion_tokens_details": {
                            "reasoning_tokens": 0,
                            "audio_tokens": 0,
                            "accepted_prediction_tokens": 0,
                            "rejected_prediction_tokens": 0,
                        },
                    },
                });
                vec![
                    Step::Send(self.openai_chunk(json!({}), json!("stop"))),
                    Step::Send(format!("data: {usage}\n\n")),
                    Step::Send("data: [DONE]\n\n".to_owned()),
                ]
            }
            ProviderKind::Anthropic => vec![
                Step::Send(Self::anthropic_event(
                    "content_block_stop",
                    json!({ "type": "content_block_stop", "index": 0 }),
                )),
                Step::Send(Self::anthropic_event(
                    "message_delta",
                    json!({
                        "type": "message_delta",
                        "delta": { "stop_reason": "end_turn", "stop_sequence": null },
                        "usage": { "output_tokens": completion },
                    }),
                )),
                Step::Send(Self::anthropic_event(
                    "message_stop",
                    json!({ "type": "message_stop" }),
                )),
            ],
            ProviderKind::Gemini => Vec::new(),
        }
    }

    fn mid_stream_error(&self) -> String {
        match self.kind {
            ProviderKind::OpenAi => format!(
                "data: {}\n\n",
                json!({ "error": {
                    "message": "The server had an error while processing your request. Sorry about that!",
                    "type": "server_error",
                    "param": null,
                    "code": null,
                }})
            ),
            ProviderKind::Anthropic => Self::anthropic_event(
                "error",
                json!({
                    "type": "error",
                    "error": { "type": "overloaded_error", "message": "Overloaded" },
                }),
            ),
            ProviderKind::Gemini => format!(
                "data: {}\r\n\r\n",
                json!({ "error": {
                    "code": 503,
                    "message": "The model is overloaded. Please try again later.",
                    "status": "UNAVAILABLE",
                }})
            ),
        }
    }

    fn malformed(&self) -> String {
        match self.kind {
            ProviderKind::OpenAi => "data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"trunc\n\n".to_owned(),
            ProviderKind::Anthropic => "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"trunc\n\n".to_owned(),
            ProviderKind::Gemini => "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"trunc\r\n\r\n".to_owned(),
        }
    }
}

/// The provider's usual error body for `code`.
fn error_body(kind: ProviderKind, code: u16, retry_after: Option<u64>) -> Value {
    match kind {
        ProviderKind::OpenAi => {
            let (message, kind, code_text) = match code {
                401 => (
                    "Incorrect API key provided: sk-fake. You can find your API key at https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    json!("invalid_api_key"),
                ),
                429 => (
                    "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.",
                    "requests",
                    json!("rate_limit_exceeded"),
                ),
                500..=599 => (
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error",
                    Value::Null,
                ),
                _ => ("Invalid request.", "invalid_request_error", Value::Null),
            };
            json!({ "error": { "message": message, "type": kind, "param": null, "code": code_text } })
        }
        ProviderKind::Anthropic => {
            let (kind, message) = match code {
                400 => ("invalid_request_error", "Invalid request."),
                401 => ("authentication_error", "invalid x-api-key"),
                403 => ("permission_error", "Your API key does not have permission."),
                404 => ("not_found_error", "Not found."),
                413 => (
                    "request_too_large",
                    "Request exceeds the maximum allowed size.",
                ),
                429 => (
                    "rate_limit_error",
                    "Number of requests has exceeded your rate limit.",
                ),
                529 => ("overloaded_error", "Overloaded"),
                _ => ("api_error", "Internal server error"),
            };
            json!({ "type": "error", "error": { "type": kind, "message": message }, "request_id": "req_fake" })
        }
        ProviderKind::Gemini => {
            let (status, message) = match code {
                400 => ("INVALID_ARGUMENT", "Request contains an invalid argument."),
                401 => (
                    "UNAUTHENTICATED",
                    "Request had invalid authentication credentials.",
                ),
                403 => (
                    "PERMISSION_DENIED",
                    "Method doesn't allow unregistered callers.",
                ),
                404 => ("NOT_FOUND", "models/unknown is not found."),
                429 => (
                    "RESOURCE_EXHAUSTED",
                    "You exceeded your current quota, please check your plan and billing details.",
                ),
                503 => (
                    "UNAVAILABLE",
                    "The model is overloaded. Please try again later.",
                ),
                _ => ("INTERNAL", "An internal error has occurred."),
            };
            let mut error = json!({ "code": code, "message": message, "status": status });
            if code == 429 {
                let mut details = vec![json!({
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    }],
                })];
                if let Some(secs) = retry_after {
                    details.push(json!({
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": format!("{secs}s"),
                    }));
                }
                error["details"] = Value::Array(details);
            }
            json!({ "error": error })
        }
    }
}

fn error_response(
    kind: ProviderKind,
    code: u16,
    retry_after: Option<u64>,
    body: Option<String>,
) -> Response<Body> {
    let body = body.unwrap_or_else(|| error_body(kind, code, retry_after).to_string());
    let mut builder = Response::builder()
        .status(code)
        .header("content-type", "application/json");
    if let (Some(secs), false) = (retry_after, kind == ProviderKind::Gemini) {
        builder = builder.header("retry-after", secs.to_string());
    }
    builder
        .body(BodyExt::boxed_unsync(
            Full::new(Bytes::from(body)).map_err(|never| match never {}),
        ))
        .expect("a valid response")
}
