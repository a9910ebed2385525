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

/// One attempt's fixed parts.
pub struct Attempt<'a> {
    pub bus: &'a Bus,
    pub sink: Sink,
    pub job_id: &'a str,
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
        };
        let (announced, opened) = tokio::join!(announce, open);
        announced?;
        let mut stream = match opened {
            Opened::Stream(s) => s,
            Opened::Cancelled => {
                return Ok(Outcome::Cancelled {
                    text: String::new(),
                })
            }
            Opened::Abandoned => return Ok(Outcome::Abandoned),
            Opened::Failed(error) => {
                crate::metrics::provider_error(error.kind());
                return Ok(Outcome::Failed {
                    text: String::new(),
                    error,
                });
            }
        };

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
