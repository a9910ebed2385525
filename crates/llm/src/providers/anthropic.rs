//! Anthropic Messages API, streamed (`POST /v1/messages`, `"stream": true`).
//!
//! Wire format: `message_start` (input usage, including cache creation/read), then per content
//! block `content_block_start`, `content_block_delta` (`text_delta`), `content_block_stop`, then
//! `message_delta` (stop reason, cumulative `output_tokens`) and `message_stop`; `ping` at any
//! time; `event: error` may arrive after HTTP 200.

use std::collections::VecDeque;

use domain::events::Usage;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::{split_system, trim_base};
use crate::{
    error::truncate,
    sse::{self, ErrorResponse, SseItem},
    timeouts::{self, before_first_token, Decoder},
    ChatModel, ChatRequest, ChatRole, ChatStream, LlmError, StreamEvent, Timeouts,
};

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
const API_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; used when the request leaves it open.
const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The Anthropic Messages API.
pub struct Anthropic {
    base_url: String,
    api_key: String,
    http: reqwest::Client,
    timeouts: Timeouts,
}

impl std::fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anthropic")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Anthropic {
    /// `base_url` without `/v1` (e.g. [`DEFAULT_BASE_URL`]).
    pub fn new(
        base_url: impl AsRef<str>,
        api_key: impl Into<String>,
        timeouts: Timeouts,
    ) -> Result<Self, LlmError> {
        Ok(Self {
            base_url: trim_base(base_url.as_ref()),
            api_key: api_key.into(),
            http: timeouts::http_client(&timeouts)?,
            timeouts,
        })
    }

    fn body(req: &ChatRequest) -> Value {
        let (system, turns) = split_system(req.system.as_deref(), &req.messages);
        let messages: Vec<Value> = turns
            .into_iter()
            .map(|turn| {
                let role = if turn.role == ChatRole::Assistant {
                    "assistant"
                } else {
                    "user"
                };
                // One block is sent as a plain string, the usual shape; several (a turn with
                // post-history instructions) as text blocks in order.
                let content = match <[String; 1]>::try_from(turn.parts) {
                    Ok([text]) => json!(text),
                    Err(parts) => Value::Array(
                        parts
                            .into_iter()
                            .map(|text| json!({ "type": "text", "text": text }))
                            .collect(),
                    ),
                };
                json!({ "role": role, "content": content })
            })
            .collect();
        let mut body = json!({
            "model": req.model,
            "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            "stream": true,
            "messages": messages,
        });
        if let Some(system) = system {
            body["system"] = json!(system);
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(p) = req.top_p {
            body["top_p"] = json!(p);
        }
        if !req.stop.is_empty() {
            body["stop_sequences"] = json!(req.stop);
        }
        body
    }
}

impl ChatModel for Anthropic {
    fn stream(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        Box::pin(async move {
            let started = Instant::now();
            let deadline = started + self.timeouts.first_token;
            let request = self
                .http
                .post(format!("{}/v1/messages", self.base_url))
                .header("x-api-key", &self.api_key)
                .header("anthropic-version", API_VERSION)
                .header("accept", "text/event-stream")
                .json(&Self::body(&req));
            let response = before_first_token(deadline, async {
                request.send().await.map_err(|e| LlmError::from_reqwest(&e))
            })
            .await?;
            if !response.status().is_success() {
                let error =
                    before_first_token(deadline, async { Ok(ErrorResponse::read(response).await) })
                        .await?;
                return Err(map_error_response(&error));
            }
            let decoder = AnthropicDecoder {
                model: format!("anthropic/{}", req.model),
                ..AnthropicDecoder::default()
            };
            Ok(timeouts::drive(
                sse::events(response),
                decoder,
                started,
                self.timeouts,
            ))
        })
    }
}

#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: WireError,
}

fn map_error_response(resp: &ErrorResponse) -> LlmError {
    match serde_json::from_str::<ErrorBody>(&resp.body) {
        Ok(body) => map_wire_error(&body.error, resp.status, resp),
        Err(_) => LlmError::from_status(resp.status, resp.retry_after, resp.body.clone()),
    }
}

/// Anthropic's error types, the same in an HTTP error body and in an `event: error`.
fn map_wire_error(error: &WireError, status: u16, resp: &ErrorResponse) -> LlmError {
    let message = format!("{}: {}", error.kind, error.message);
    match error.kind.as_str() {
        "overloaded_error" => LlmError::Overloaded(message),
        "rate_limit_error" => LlmError::RateLimited {
            retry_after: resp.retry_after,
        },
        "api_error" | "timeout_error" => LlmError::ServerError(message),
        "authentication_error" | "permission_error" => LlmError::Auth(message),
        "billing_error" => LlmError::QuotaExhausted(message),
        "invalid_request_error" | "not_found_error" | "request_too_large" => {
            LlmError::BadRequest(message)
        }
        _ => LlmError::from_status(status, resp.retry_after, message),
    }
}

#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    cache_creation_input_tokens: Option<i64>,
    cache_read_input_tokens: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct StartMessage {
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    /// Tool input JSON, thinking, signatures: not part of a chat reply.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct MessageDelta {
    stop_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockDelta {
        delta: BlockDelta,
    },
    MessageDelta {
        delta: MessageDelta,
        #[serde(default)]
        usage: WireUsage,
    },
    MessageStop,
    Error {
        error: WireError,
    },
    /// `ping`, `content_block_start`, `content_block_stop` and future event types.
    #[serde(other)]
    Other,
}

#[derive(Debug, Default)]
struct AnthropicDecoder {
    model: String,
    input: i64,
    cache_creation: i64,
    cache_read: i64,
    output: i64,
    stop_reason: Option<String>,
    saw_text: bool,
}

impl AnthropicDecoder {
    fn absorb(&mut self, usage: &WireUsage) {
        // Each field is reported whole (output_tokens cumulatively), never as an increment.
        if let Some(n) = usage.input_tokens {
            self.input = n;
        }
        if let Some(n) = usage.cache_creation_input_tokens {
            self.cache_creation = n;
        }
        if let Some(n) = usage.cache_read_input_tokens {
            self.cache_read = n;
        }
        if let Some(n) = usage.output_tokens {
            self.output = n;
        }
    }

    fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.input + self.cache_creation + self.cache_read,
            completion_tokens: self.output,
            cached_prompt_tokens: self.cache_read,
        }
    }
}

impl Decoder for AnthropicDecoder {
    type Raw = SseItem;

    fn decode(&mut self, raw: SseItem, out: &mut VecDeque<StreamEvent>) -> Result<(), LlmError> {
        let event = raw.map_err(sse::stream_error)?;
        let parsed: WireEvent = serde_json::from_str(&event.data).map_err(|e| {
            LlmError::Protocol(format!(
                "malformed `{}` event ({e}): {}",
                event.event,
                truncate(&event.data, 200)
            ))
        })?;
        match parsed {
            WireEvent::MessageStart { message } => self.absorb(&message.usage),
            WireEvent::ContentBlockDelta {
                delta: BlockDelta::TextDelta { text },
            } => {
                if !text.is_empty() {
                    self.saw_text = true;
                    out.push_back(StreamEvent::Delta(text));
                }
            }
            WireEvent::ContentBlockDelta { .. } | WireEvent::Other => {}
            WireEvent::MessageDelta { delta, usage } => {
                self.absorb(&usage);
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
            }
            WireEvent::MessageStop => {
                if self.stop_reason.as_deref() == Some("refusal") && !self.saw_text {
                    return Err(LlmError::ContentRefused("stop_reason: refusal".into()));
                }
                out.push_back(StreamEvent::Done {
                    usage: self.usage(),
                    finish_reason: self.stop_reason.clone(),
                    model: self.model.clone(),
                });
            }
            WireEvent::Error { error } => {
                let none = ErrorResponse {
                    status: 0,
                    retry_after: None,
                    body: String::new(),
                };
                return Err(match map_wire_error(&error, 0, &none) {
                    LlmError::Protocol(_) => LlmError::ServerError(format!(
                        "in-stream {}: {}",
                        error.kind, error.message
                    )),
                    other => other,
                });
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<StreamEvent, LlmError> {
        Err(LlmError::Transport(
            "the event stream ended before message_stop".into(),
        ))
    }
}
