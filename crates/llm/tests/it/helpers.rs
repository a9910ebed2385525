use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use llm::{
    Anthropic, ChatMessage, ChatModel, ChatRequest, ChatStream, Gemini, LlmError, OpenAiCompatible,
    RetryPolicy, StreamEvent, Timeouts, Usage,
};
use testkit::providers::{FakeProvider, ProviderKind};

/// Short waits so hangs end quickly; first token generous enough for a loaded 2-core machine.
pub fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        first_token: Duration::from_secs(3),
        idle: Duration::from_secs(2),
    }
}

/// Fast backoff so retry tests take milliseconds (retry-after waits are the provider's).
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    }
}

/// The provider client for a fake, unwrapped (no retries).
pub fn client(fake: &FakeProvider, timeouts: Timeouts) -> Arc<dyn ChatModel> {
    match fake.kind() {
        ProviderKind::OpenAi => {
            Arc::new(OpenAiCompatible::new("openai", fake.base_url(), "sk-test", timeouts).unwrap())
        }
        ProviderKind::Anthropic => {
            Arc::new(Anthropic::new(fake.base_url(), "ak-test", timeouts).unwrap())
        }
        ProviderKind::Gemini => {
            Arc::new(Gemini::new(fake.base_url(), "gk-test", timeouts).unwrap())
        }
    }
}

pub fn request(model: &str) -> ChatRequest {
    ChatRequest {
        model: model.to_owned(),
        system: Some("You are Ada, a cheerful inventor.".to_owned()),
        messages: vec![
            ChatMessage::user("Hi Ada!"),
            ChatMessage::assistant("Hello there! What shall we build?"),
            ChatMessage::user("A tiny robot, please."),
        ],
        max_tokens: Some(256),
        temperature: Some(0.5),
        top_p: Some(0.25),
        stop: vec!["\nUser:".to_owned()],
        attempts: None,
    }
}

/// Everything a stream produced.
#[derive(Debug, Default)]
pub struct Collected {
    pub deltas: Vec<String>,
    pub done: Option<(Usage, Option<String>, String)>,
    pub error: Option<LlmError>,
}

impl Collected {
    pub fn text(&self) -> String {
        self.deltas.concat()
    }
}

pub async fn collect(mut stream: ChatStream) -> Collected {
    let mut out = Collected::default();
    while let Some(item) = stream.next().await {
        assert!(
            out.done.is_none() && out.error.is_none(),
            "nothing may follow Done or an error"
        );
        match item {
            Ok(StreamEvent::Delta(text)) => {
                assert!(!text.is_empty(), "deltas are never empty");
                out.deltas.push(text);
            }
            Ok(StreamEvent::Done {
                usage,
                finish_reason,
                model,
            }) => out.done = Some((usage, finish_reason, model)),
            Err(err) => out.error = Some(err),
        }
    }
    out
}

/// Opens and drains a stream; an error from `stream` itself lands in `error`.
pub async fn run(model: &dyn ChatModel, req: ChatRequest) -> Collected {
    match model.stream(req).await {
        Ok(stream) => collect(stream).await,
        Err(err) => Collected {
            error: Some(err),
            ..Collected::default()
        },
    }
}
