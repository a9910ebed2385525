//! Drives one attempt of a generation: opens the provider stream, forwards its text as coalesced
//! delta events, and ends on `Done`, an error, a stop request or a lost lease.
//!
//! Coalescing: the first token is published at once (it is what the user waits for); after that
//! at most one delta event per `coalesce` window carries everything that arrived meanwhile. A
//! token that comes after a quiet window is published at once too, so a slow provider is not
//! delayed further. Publishing is awaited in order, so deltas on the log never reorder.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bus::{Bus, BusError};
use domain::events::{ConversationEvent, EventPayload, Usage, UserEvent};
use domain::{ConversationId, StoryId, UserId};
use futures_util::StreamExt;
use llm::{ChatModel, ChatRequest, LlmError, StreamEvent};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::field::Empty;
use tracing::Instrument;

/// Where an attempt's events go.
#[derive(Debug, Clone, Copy)]
pub enum Sink {
    /// The conversation's event log (replayable, seen by every watcher).
    Conversation(ConversationId),
    /// The user's own channel (stories are not part of a conversation).
    Story { user: UserId, story: StoryId },
}

impl Sink {
    pub async fn started(
        &self,
        bus: &Bus,
        job_id: &str,
        attempt: u32,
        model: &str,
        character_id: Option<domain::CharacterId>,
    ) -> Result<(), BusError> {
        match *self {
            Sink::Conversation(conv) => {
                let event = ConversationEvent::GenerationStarted {
                    job_id: job_id.to_owned(),
                    attempt,
                    model: model.to_owned(),
                    character_id,
                };
                bus.publish(conv, &EventPayload::from(event))
                    .await
                    .map(drop)
            }
            Sink::Story { user, story } => {
                let event = UserEvent::StoryStarted {
                    story_id: story,
                    job_id: job_id.to_owned(),
                    attempt,
                    model: model.to_owned(),
                };
                bus.publish_user(user, &event).await
            }
        }
    }

    async fn delta(
        &self,
        bus: &Bus,
        job_id: &str,
        attempt: u32,
        text: String,
    ) -> Result<(), BusError> {
        match *self {
            Sink::Conversation(conv) => {
                let event = ConversationEvent::Delta {
                    job_id: job_id.to_owned(),
                    attempt,
                    text,
                };
                bus.publish(conv, &EventPayload::from(event))
                    .await
                    .map(drop)
            }
            Sink::Story { user, story } => {
                let event = UserEvent::StoryDelta {
                    story_id: story,
                    job_id: job_id.to_owned(),
                    attempt,
                    text,
                };
                bus.publish_user(user, &event).await
            }
        }
    }
}

/// How an attempt ended.
#[derive(Debug)]
pub enum Outcome {
    Done {
        text: String,
        usage: Usage,
        /// The `provider/model` that actually answered (a fallback may have).
        model: String,
    },
    /// A stop request; `text` is what was generated (and published) before it.
    Cancelled { text: String },
    /// Another worker owns the job now: nothing more may be written.
    Abandoned,
    /// The provider failed; `text` is what was published before the failure.
    Failed { text: String, error: LlmError },
}

/// Marks the provider call's span failed: the error's kind and its cause chain (the provider's
/// status and error message, never the request).
fn record_failure(span: &tracing::Span, error: &LlmError) {
    span.record("llm.outcome", "failed");
    span.record("error.type", error.kind());
    platform::telemetry::record_error(span, &platform::telemetry::cause_chain(error));
}

/// One attempt's fixed parts.
pub struct Attempt<'a> {
    pub bus: &'a Bus,
    pub sink: Sink,
    pub job_id: &'a str,
    /// The resolved `provider/model` asked for (a fallback may answer instead).
    pub model_id: &'a str,
    pub attempt: u32,
    pub coalesce: Duration,
    pub cancel: &'a CancellationToken,
    pub lost: &'a CancellationToken,
}

enum Opened {
    Stream(llm::ChatStream),
    Cancelled,
    Abandoned,
    Failed(LlmError),
}

impl Attempt<'_> {
    /// Runs the attempt. `announce` (the start event, the placeholder) runs while the provider
    /// request is opened — both take a round trip — and always completes before the first delta.
    /// Errors are Redis (or `announce`'s) failures: the caller leaves the job for redelivery.
    pub async fn run<E: From<BusError>>(
        &self,
        model: Arc<dyn ChatModel>,
        request: ChatRequest,
        announce: impl Future<Output = Result<(), E>>,
    ) -> Result<Outcome, E> {
        let started = Instant::now();
        // The provider call's span (issue 23), from the request to the last token: model,
        // provider, token counts and time to first token as attributes — never the prompt,
        // the reply's text or a key. The delta events it publishes are its children.
        let (provider, _) = self.model_id.split_once('/').unwrap_or((self.model_id, ""));
        let span = tracing::info_span!(
            "llm.generate",
            otel.name = %format_args!("chat {}", self.model_id),
            otel.kind = "client",
            gen_ai.operation.name = "chat",
            gen_ai.provider.name = provider,
            gen_ai.request.model = self.model_id,
            gen_ai.response.model = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            llm.time_to_first_token_ms = Empty,
            llm.deltas = Empty,
            llm.outcome = Empty,
            job_id = self.job_id,
            attempt = self.attempt,
            error.type = Empty,
            otel.status_code = Empty,
            otel.status_description = Empty,
        );
        let open = async {
            tokio::select! {
                biased;
                _ = self.lost.cancelled() => Opened::Abandoned,
                _ = self.cancel.cancelled() => Opened::Cancelled,
                r = model.stream(request) => match r {
                    Ok(s) => Opened::Stream(s),
                    Err(e) => Opened::Failed(e),
                },
            }
        }
        .instrument(span.clone());
        let (announced, opened) = tokio::join!(announce, open);
        announced?;
        let mut stream = match opened {
            Opened::Stream(s) => s,
            Opened::Cancelled => {
                span.record("llm.outcome", "cancelled");
                return Ok(Outcome::Cancelled {
                    text: String::new(),
                });
            }
            Opened::Abandoned => {
                span.record("llm.outcome", "abandoned");
                return Ok(Outcome::Abandoned);
            }
            Opened::Failed(error) => {
                crate::metrics::provider_error(error.kind());
                record_failure(&span, &error);
                return Ok(Outcome::Failed {
                    text: String::new(),
                    error,
                });
            }
        };
        let outcome = self
            .stream(&mut stream, started, &span)
            .instrument(span.clone())
            .await?;
        match &outcome {
            Outcome::Done { usage, model, .. } => {
                span.record("llm.outcome", "done");
                span.record("gen_ai.response.model", model.as_str());
                span.record("gen_ai.usage.input_tokens", usage.prompt_tokens);
                span.record("gen_ai.usage.output_tokens", usage.completion_tokens);
            }
            Outcome::Cancelled { .. } => {
                span.record("llm.outcome", "cancelled");
            }
            Outcome::Abandoned => {
                span.record("llm.outcome", "abandoned");
            }
            Outcome::Failed { error, .. } => record_failure(&span, error),
        }
        Ok(outcome)
    }

    /// Forwards the open stream as coalesced deltas until it ends.
    async fn stream(
        &self,
        stream: &mut llm::ChatStream,
        started: Instant,
        span: &tracing::Span,
    ) -> Result<Outcome, BusError> {
        let mut text = String::new();
        let mut pending = String::new();
        let mut last_flush: Option<Instant> = None;
        let mut flush_at: Option<Instant> = None;
        let mut tokens: u64 = 0;
        let outcome = loop {
            let due = flush_at;
            let flush_timer = async move {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = self.lost.cancelled() => break Outcome::Abandoned,
                _ = self.cancel.cancelled() => {
                    self.flush(&mut pending).await?;
                    break Outcome::Cancelled { text };
                }
                _ = flush_timer => {
                    self.flush(&mut pending).await?;
                    last_flush = Some(Instant::now());
                    flush_at = None;
                }
                item = stream.next() => match item {
                    Some(Ok(StreamEvent::Delta(piece))) => {
                        tokens += 1;
                        text.push_str(&piece);
                        pending.push_str(&piece);
                        let now = Instant::now();
                        match last_flush {
                            None => {
                                crate::metrics::first_token(started.elapsed());
                                span.record(
                                    "llm.time_to_first_token_ms",
                                    started.elapsed().as_secs_f64() * 1e3,
                                );
                                self.flush(&mut pending).await?;
                                last_flush = Some(now);
                            }
                            Some(last) if flush_at.is_none() => {
                                let due = last + self.coalesce;
                                if due <= now {
                                    self.flush(&mut pending).await?;
                                    last_flush = Some(now);
                                } else {
                                    flush_at = Some(due);
                                }
                            }
                            Some(_) => {}
                        }
                    }
                    Some(Ok(StreamEvent::Done { usage, model, .. })) => {
                        self.flush(&mut pending).await?;
                        break Outcome::Done { text, usage, model };
                    }
                    Some(Err(error)) => {
                        crate::metrics::provider_error(error.kind());
                        self.flush(&mut pending).await?;
                        break Outcome::Failed { text, error };
                    }
                    None => {
                        self.flush(&mut pending).await?;
                        let error = LlmError::Protocol("the reply ended without a final event".into());
                        crate::metrics::provider_error(error.kind());
                        break Outcome::Failed { text, error };
                    }
                },
            }
        };
        crate::metrics::tokens_streamed(tokens);
        span.record("llm.deltas", tokens);
        Ok(outcome)
    }

    async fn flush(&self, pending: &mut String) -> Result<(), BusError> {
        if pending.is_empty() {
            return Ok(());
        }
        let text = std::mem::take(pending);
        self.sink
            .delta(self.bus, self.job_id, self.attempt, text)
            .await
    }
}
