//! Google Gemini (`POST /v1beta/models/{model}:streamGenerateContent?alt=sse`).
//!
//! Wire format: `data: <GenerateContentResponse>` events (CRLF-separated in practice), text in
//! `candidates[0].content.parts[].text`, `usageMetadata` on every chunk with the final totals on
//! the last, `finishReason` on the last candidate; no `[DONE]`: the body simply ends. Errors are
//! `{"error":{"code","message","status","details"}}`, with `RetryInfo.retryDelay` on 429.

use std::collections::VecDeque;

use domain::events::Usage;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::{split_system, trim_base};
use crate::{
    error::{parse_proto_duration, truncate},
    sse::{self, ErrorResponse, SseItem},
    timeouts::{self, before_first_token, Decoder},
    ChatModel, ChatRequest, ChatRole, ChatStream, LlmError, StreamEvent, Timeouts,
};

pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// Finish reasons that mean the safety system withheld the reply.
const REFUSAL_REASONS: &[&str] = &[
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
];

/// The Gemini API (Google AI Studio keys).
pub struct Gemini {
    base_url: String,
    api_key: String,
    http: reqwest::Client,
    timeouts: Timeouts,
}

impl std::fmt::Debug for Gemini {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gemini")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Gemini {
    /// `base_url` without `/v1beta` (e.g. [`DEFAULT_BASE_URL`]).
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
        let contents: Vec<Value> = turns
            .into_iter()
            .map(|turn| {
                let role = if turn.role == ChatRole::Assistant {
                    "model"
                } else {
                    "user"
                };
                let parts: Vec<Value> = turn
                    .parts
                    .into_iter()
                    .map(|text| json!({ "text": text }))
                    .collect();
                json!({ "role": role, "parts": parts })
            })
            .collect();
        let mut body = json!({ "contents": contents });
        if let Some(system) = system {
            body["systemInstruction"] = json!({ "parts": [{ "text": system }] });
        }
        let mut config = serde_json::Map::new();
        if let Some(n) = req.max_tokens {
            config.insert("maxOutputTokens".into(), json!(n));
        }
        if let Some(t) = req.temperature {
            config.insert("temperature".into(), json!(t));
        }
        if let Some(p) = req.top_p {
            config.insert("topP".into(), json!(p));
        }
        if !req.stop.is_empty() {
            config.insert("stopSequences".into(), json!(req.stop));
        }
        if !config.is_empty() {
            body["generationConfig"] = Value::Object(config);
        }
        body
    }
}

impl ChatModel for Gemini {
    fn stream(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        Box::pin(async move {
            let started = Instant::now();
            let deadline = started + self.timeouts.first_token;
            let url = format!(
                "{}/v1beta/models/{}:streamGenerateContent",
                self.base_url, req.model
            );
            let request = self
                .http
                .post(url)
                .query(&[("alt", "sse")])
                .header("x-goog-api-key", &self.api_key)
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
            let decoder = GeminiDecoder {
                model: format!("gemini/{}", req.model),
                ..GeminiDecoder::default()
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

#[derive(Debug, Default, Deserialize)]
struct WireError {
    #[serde(default)]
    code: u16,
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: WireError,
}

fn map_error_response(resp: &ErrorResponse) -> LlmError {
    match serde_json::from_str::<ErrorBody>(&resp.body) {
        Ok(body) => map_wire_error(&body.error, resp.status, resp.retry_after),
        Err(_) => LlmError::from_status(resp.status, resp.retry_after, resp.body.clone()),
    }
}

fn detail<'a>(error: &'a WireError, type_suffix: &str) -> impl Iterator<Item = &'a Value> + 'a {
    let suffix = type_suffix.to_owned();
    error.details.iter().filter(move |d| {
        d.get("@type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.ends_with(&suffix))
    })
}

/// Gemini's canonical statuses, the same in an HTTP error body and in an in-stream error.
fn map_wire_error(
    error: &WireError,
    http_status: u16,
    header_retry_after: Option<std::time::Duration>,
) -> LlmError {
    let message = format!("{} {}: {}", error.code, error.status, error.message);
    let status = if http_status == 0 {
        error.code
    } else {
        http_status
    };
    match error.status.as_str() {
        "RESOURCE_EXHAUSTED" => {
            let retry_after = header_retry_after.or_else(|| {
                detail(error, "google.rpc.RetryInfo")
                    .find_map(|d| d.get("retryDelay")?.as_str().and_then(parse_proto_duration))
            });
            // A per-day quota with no retry hint will not clear in minutes.
            let daily = detail(error, "google.rpc.QuotaFailure").any(|d| {
                d.get("violations")
                    .and_then(Value::as_array)
                    .is_some_and(|v| {
                        v.iter().any(|v| {
                            v.get("quotaId")
                                .and_then(Value::as_str)
                                .is_some_and(|id| id.contains("PerDay"))
                        })
                    })
            });
            if daily && retry_after.is_none() {
                LlmError::QuotaExhausted(message)
            } else {
                LlmError::RateLimited { retry_after }
            }
        }
        "UNAUTHENTICATED" | "PERMISSION_DENIED" => LlmError::Auth(message),
        "INVALID_ARGUMENT"
            if detail(error, "google.rpc.ErrorInfo").any(|d| {
                d.get("reason")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.starts_with("API_KEY"))
            }) =>
        {
            LlmError::Auth(message)
        }
        "INVALID_ARGUMENT" | "NOT_FOUND" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => {
            LlmError::BadRequest(message)
        }
        "UNAVAILABLE" => LlmError::Overloaded(message),
        "INTERNAL" | "DEADLINE_EXCEEDED" | "UNKNOWN" | "ABORTED" => LlmError::ServerError(message),
        _ => match LlmError::from_status(status, header_retry_after, message.clone()) {
            LlmError::Protocol(_) => LlmError::ServerError(message),
            other => other,
        },
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    text: Option<String>,
    /// Thought summaries of thinking models: not part of the reply.
    #[serde(default)]
    thought: bool,
}

#[derive(Debug, Default, Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: i64,
    #[serde(default)]
    candidates_token_count: i64,
    #[serde(default)]
    cached_content_token_count: i64,
    #[serde(default)]
    thoughts_token_count: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireChunk {
    #[serde(default)]
    candidates: Vec<Candidate>,
    usage_metadata: Option<UsageMetadata>,
    prompt_feedback: Option<PromptFeedback>,
    error: Option<WireError>,
}

#[derive(Debug, Default)]
struct GeminiDecoder {
    model: String,
    usage: Usage,
    finish_reason: Option<String>,
    saw_text: bool,
}

impl Decoder for GeminiDecoder {
    type Raw = SseItem;

    fn decode(&mut self, raw: SseItem, out: &mut VecDeque<StreamEvent>) -> Result<(), LlmError> {
        let event = raw.map_err(sse::stream_error)?;
        let chunk: WireChunk = serde_json::from_str(&event.data).map_err(|e| {
            LlmError::Protocol(format!(
                "malformed chunk ({e}): {}",
                truncate(&event.data, 200)
            ))
        })?;
        if let Some(error) = &chunk.error {
            return Err(map_wire_error(error, 0, None));
        }
        if let Some(reason) = chunk.prompt_feedback.and_then(|f| f.block_reason) {
            return Err(LlmError::ContentRefused(format!(
                "prompt blocked: {reason}"
            )));
        }
        if let Some(meta) = chunk.usage_metadata {
            // Every chunk carries running totals; the last one wins. promptTokenCount already
            // includes cachedContentTokenCount; thinking tokens are billed as output.
            self.usage = Usage {
                prompt_tokens: meta.prompt_token_count,
                completion_tokens: meta.candidates_token_count + meta.thoughts_token_count,
                cached_prompt_tokens: meta.cached_content_token_count,
            };
        }
        if let Some(candidate) = chunk.candidates.into_iter().next() {
            for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
                if let Some(text) = part.text.filter(|t| !t.is_empty() && !part.thought) {
                    self.saw_text = true;
                    out.push_back(StreamEvent::Delta(text));
                }
            }
            if let Some(reason) = candidate.finish_reason {
                if REFUSAL_REASONS.contains(&reason.as_str()) && !self.saw_text {
                    return Err(LlmError::ContentRefused(format!("finishReason: {reason}")));
                }
                self.finish_reason = Some(reason);
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<StreamEvent, LlmError> {
        // Gemini has no end marker: a body that ends after a finishReason is complete.
        match self.finish_reason.take() {
            Some(reason) => Ok(StreamEvent::Done {
                usage: self.usage,
                finish_reason: Some(reason),
                model: self.model.clone(),
            }),
            None => Err(LlmError::Transport(
                "the event stream ended before a finishReason".into(),
            )),
        }
    }
}
