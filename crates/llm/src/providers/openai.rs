//! OpenAI chat completions and any OpenAI-compatible server (Ollama, vLLM, OpenRouter, …),
//! through `async-openai`.
//!
//! `async-openai` builds the request (base URL, bearer key) and parses the SSE stream up to
//! `data: [DONE]`. Two things are ours:
//! - the HTTP transport, plugged in as a tower service: it replaces the library's built-in retry
//!   layer (retries are [`crate::Retrying`]'s job, and only before the first token) and turns
//!   error responses into [`LlmError`] while the `retry-after` headers are still at hand (the
//!   library's own error keeps only the body);
//! - the request and chunk types, through `byot`, so the chunk type tolerates what compatible
//!   servers omit and recognises an in-stream `{"error":…}` object.
//!
//! Wire format: `data: {chat.completion.chunk}` events; with
//! `stream_options.include_usage` a last chunk with empty `choices` carries `usage`
//! (`prompt_tokens` includes `prompt_tokens_details.cached_tokens`), then `data: [DONE]`.

use std::{
    collections::VecDeque,
    task::{Context, Poll},
};

use async_openai::{
    config::OpenAIConfig,
    error::{OpenAIError, StreamError},
    middleware::HttpRequestFactory,
    Client,
};
use domain::events::Usage;
use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::{
    budget,
    error::truncate,
    sse::ErrorResponse,
    timeouts::{self, before_first_token, Decoder},
    ChatModel, ChatRequest, ChatRole, ChatStream, LlmError, StreamEvent, Timeouts,
};

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// OpenAI or an OpenAI-compatible chat-completions server.
pub struct OpenAiCompatible {
    provider_name: String,
    base_url: String,
    client: Client<OpenAIConfig>,
    timeouts: Timeouts,
    key_is_valid: bool,
}

impl std::fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiCompatible")
            .field("provider_name", &self.provider_name)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl OpenAiCompatible {
    /// `base_url` including the version path (e.g. [`DEFAULT_BASE_URL`],
    /// `http://localhost:11434/v1`). `provider_name` prefixes the model id in
    /// [`StreamEvent::Done`] (`openai`, `compat`, …). With an empty key no `Authorization`
    /// header is sent, for local servers that need none.
    pub fn new(
        provider_name: impl Into<String>,
        base_url: impl AsRef<str>,
        api_key: impl Into<String>,
        timeouts: Timeouts,
    ) -> Result<Self, LlmError> {
        let base_url = base_url.as_ref().trim_end_matches('/').to_owned();
        let api_key: String = api_key.into();
        let api_key_is_empty = api_key.trim().is_empty();
        // async-openai panics on a key that is not a valid header value; refuse it up front.
        let key_is_valid =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {api_key}")).is_ok();
        let http = timeouts::http_client(&timeouts)?;
        let config = OpenAIConfig::new()
            .with_api_base(base_url.clone())
            .with_api_key(if key_is_valid { api_key } else { String::new() });
        let transport = Transport {
            http: http.clone(),
            send_auth: !api_key_is_empty,
        };
        let client = Client::build(http, config).with_http_service(transport);
        Ok(Self {
            provider_name: provider_name.into(),
            base_url,
            client,
            timeouts,
            key_is_valid,
        })
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let mut messages = Vec::with_capacity(req.messages.len() + 1);
        if let Some(system) = req.system.as_deref().filter(|s| !s.is_empty()) {
            messages.push(json!({ "role": "system", "content": system }));
        }
        for message in &req.messages {
            let role = match message.role {
                ChatRole::User => "user",
                ChatRole::Assistant => "assistant",
                ChatRole::System => "system",
            };
            messages.push(json!({ "role": role, "content": message.content }));
        }
        let mut body = json!({
            "model": req.model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if let Some(n) = req.max_tokens {
            // OpenAI deprecated `max_tokens` (reasoning models reject it); compatible servers
            // mostly know only `max_tokens`.
            let field = if self.provider_name == "openai" {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            body[field] = json!(n);
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(p) = req.top_p {
            body["top_p"] = json!(p);
        }
        if !req.stop.is_empty() {
            body["stop"] = json!(req.stop);
        }
        body
    }
}

impl ChatModel for OpenAiCompatible {
    fn stream(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        Box::pin(async move {
            if !self.key_is_valid {
                return Err(LlmError::Auth(
                    "the API key contains characters not allowed in a header".into(),
                ));
            }
            let started = Instant::now();
            let deadline = started + self.timeouts.first_token;
            let body = self.body(&req);
            let chat = self.client.chat();
            let stream = before_first_token(deadline, async {
                chat.create_stream_byot::<Value, WireChunk>(body)
                    .await
                    .map_err(from_openai_error)
            })
            .await?;
            let decoder = OpenAiDecoder {
                model: format!("{}/{}", self.provider_name, req.model),
                prompt_estimate: budget::estimate_request_tokens(&req),
                ..OpenAiDecoder::default()
            };
            Ok(timeouts::drive(stream, decoder, started, self.timeouts))
        })
    }
}

/// The HTTP transport handed to async-openai: sends the request with our client and turns an
/// error status into an [`LlmError`] (carried in `OpenAIError::Boxed`) with its `retry-after`.
#[derive(Clone)]
struct Transport {
    http: reqwest::Client,
    /// False for keyless local servers: no `Authorization: Bearer ` with an empty token.
    send_auth: bool,
}

impl tower_service::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<reqwest::Response, OpenAIError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let http = self.http.clone();
        let send_auth = self.send_auth;
        Box::pin(async move {
            let mut request = factory.build().await?;
            if !send_auth {
                request.headers_mut().remove(reqwest::header::AUTHORIZATION);
            }
            let response = http
                .execute(request)
                .await
                .map_err(|e| boxed(LlmError::from_reqwest(&e)))?;
            if response.status().is_success() {
                return Ok(response);
            }
            Err(boxed(map_error_response(
                &ErrorResponse::read(response).await,
            )))
        })
    }
}

fn boxed(err: LlmError) -> OpenAIError {
    OpenAIError::Boxed(Box::new(err))
}

fn from_openai_error(err: OpenAIError) -> LlmError {
    match err {
        OpenAIError::Boxed(inner) => match inner.downcast::<LlmError>() {
            Ok(llm) => *llm,
            Err(other) => LlmError::Transport(other.to_string()),
        },
        OpenAIError::Reqwest(e) => LlmError::from_reqwest(&e),
        OpenAIError::JSONDeserialize(e, content) => {
            match serde_json::from_str::<ErrorBody>(&content) {
                Ok(body) => map_wire_error(&body.error, 0, None),
                Err(_) => LlmError::Protocol(format!(
                    "malformed chunk ({e}): {}",
                    truncate(&content, 200)
                )),
            }
        }
        OpenAIError::StreamError(stream) => match *stream {
            StreamError::EventStream(msg) => LlmError::Transport(msg),
            StreamError::UnknownEvent(event) => {
                LlmError::Protocol(format!("unexpected event `{}`", event.event))
            }
        },
        OpenAIError::ApiError(api) => LlmError::from_status(
            api.status_code.as_u16(),
            None,
            api.api_error.message.clone(),
        ),
        OpenAIError::InvalidArgument(msg) => LlmError::BadRequest(msg),
        other => LlmError::Protocol(other.to_string()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct WireError {
    #[serde(default)]
    message: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    /// A string for OpenAI (`rate_limit_exceeded`), a number for some compatible servers.
    #[serde(default)]
    code: Option<Value>,
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

/// OpenAI's error object (HTTP body or in-stream chunk); `status` 0 when in-stream.
fn map_wire_error(
    error: &WireError,
    status: u16,
    retry_after: Option<std::time::Duration>,
) -> LlmError {
    let code_text = error.code.as_ref().and_then(Value::as_str).unwrap_or("");
    let kind = error.kind.as_deref().unwrap_or("");
    let message = format!("{kind} {code_text}: {}", error.message)
        .trim()
        .to_owned();
    let is = |word: &str| kind == word || code_text == word;
    if is("insufficient_quota") || is("billing_hard_limit_reached") {
        return LlmError::QuotaExhausted(message);
    }
    if is("invalid_api_key") || is("authentication_error") {
        return LlmError::Auth(message);
    }
    if is("content_filter") || is("content_policy_violation") {
        return LlmError::ContentRefused(message);
    }
    let status = match (status, error.code.as_ref().and_then(Value::as_u64)) {
        (0, Some(code)) => u16::try_from(code).unwrap_or(500),
        (0, None) => {
            if is("rate_limit_exceeded") || is("rate_limit_error") || kind == "requests" {
                429
            } else if is("overloaded") || is("overloaded_error") {
                503
            } else if is("invalid_request_error") {
                400
            } else {
                500
            }
        }
        (status, _) => status,
    };
    match LlmError::from_status(status, retry_after, message.clone()) {
        LlmError::Protocol(_) => LlmError::ServerError(message),
        other => other,
    }
}

#[derive(Debug, Default, Deserialize)]
struct WireDelta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<WireDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: i64,
    #[serde(default)]
    completion_tokens: i64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

/// A `chat.completion.chunk`, lenient: compatible servers omit fields OpenAI always sends.
#[derive(Debug, Default, Deserialize)]
struct WireChunk {
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Debug, Default)]
struct OpenAiDecoder {
    model: String,
    prompt_estimate: usize,
    usage: Option<Usage>,
    finish_reason: Option<String>,
    completion_chars: usize,
}

impl Decoder for OpenAiDecoder {
    type Raw = Result<WireChunk, OpenAIError>;

    fn decode(&mut self, raw: Self::Raw, out: &mut VecDeque<StreamEvent>) -> Result<(), LlmError> {
        let chunk = raw.map_err(from_openai_error)?;
        if let Some(error) = &chunk.error {
            return Err(map_wire_error(error, 0, None));
        }
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(text) = choice.delta.and_then(|d| d.content) {
                if !text.is_empty() {
                    self.completion_chars += text.chars().count();
                    out.push_back(StreamEvent::Delta(text));
                }
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(Usage {
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                cached_prompt_tokens: usage
                    .prompt_tokens_details
                    .and_then(|d| d.cached_tokens)
                    .unwrap_or(0),
            });
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<StreamEvent, LlmError> {
        // async-openai ends the stream at `[DONE]` (or a clean end of body); a reply is complete
        // once a finish reason or the usage chunk has been seen.
        if self.finish_reason.is_none() && self.usage.is_none() {
            return Err(LlmError::Transport(
                "the event stream ended before the reply finished".into(),
            ));
        }
        if self.finish_reason.as_deref() == Some("content_filter") && self.completion_chars == 0 {
            return Err(LlmError::ContentRefused(
                "finish_reason: content_filter".into(),
            ));
        }
        // A compatible server that ignores `stream_options` reports no usage: estimate it
        // rather than bill nothing.
        let usage = self.usage.unwrap_or(Usage {
            prompt_tokens: i64::try_from(self.prompt_estimate).unwrap_or(i64::MAX),
            completion_tokens: i64::try_from(self.completion_chars.div_ceil(4)).unwrap_or(i64::MAX),
            cached_prompt_tokens: 0,
        });
        Ok(StreamEvent::Done {
            usage,
            finish_reason: self.finish_reason.take(),
            model: self.model.clone(),
        })
    }
}
