//! The mock provider: a real [`ChatModel`] for development and demos when no key is configured.
//! It answers in a deterministic, readable way built from the last user message, says that it
//! is the mock, streams word by word at a configured speed and counts words as tokens.

use std::time::Duration;

use domain::events::Usage;
use futures_util::{future::BoxFuture, StreamExt};
use tokio::time::Instant;

use crate::{ChatModel, ChatRequest, ChatRole, ChatStream, LlmError, StreamEvent};

/// The mock's model name when none is configured: `mock/echo`.
pub const DEFAULT_MODEL: &str = "echo";

/// How much of the user's message the mock quotes back.
const QUOTE_WORDS: usize = 40;

/// Streams a canned, in-character echo of the last user message.
#[derive(Debug, Clone)]
pub struct Mock {
    /// Words per second; `0.0` or less streams without pauses.
    pub tokens_per_sec: f64,
}

impl Default for Mock {
    fn default() -> Self {
        Self {
            tokens_per_sec: 20.0,
        }
    }
}

impl Mock {
    pub fn new(tokens_per_sec: f64) -> Self {
        Self { tokens_per_sec }
    }

    /// The full reply the mock gives to `req` (what the deltas add up to, before `max_tokens`).
    pub fn reply_text(req: &ChatRequest) -> String {
        let last_user = req
            .messages
            .iter()
            .rev()
            .find(|m| m.role == ChatRole::User)
            .map(|m| m.content.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default();
        if last_user.is_empty() {
            return "*waves* Hello! I'm the mock model, standing in for a real AI provider \
                    because none is configured. Say something and I'll echo it back."
                .to_owned();
        }
        let quoted = if last_user.len() > QUOTE_WORDS {
            format!("{} …", last_user[..QUOTE_WORDS].join(" "))
        } else {
            last_user.join(" ")
        };
        format!(
            "*tilts head thoughtfully* You said: \u{201c}{quoted}\u{201d} That's {} word{} \
             I heard loud and clear. I'm only the mock model, so I can't come up with a real \
             answer, but I'm right here in character with you. Configure an OpenAI, Anthropic \
             or Gemini API key to hear a real reply.",
            last_user.len(),
            if last_user.len() == 1 { "" } else { "s" },
        )
    }

    fn interval(&self) -> Option<Duration> {
        (self.tokens_per_sec.is_finite() && self.tokens_per_sec > 0.0)
            .then(|| Duration::from_secs_f64(1.0 / self.tokens_per_sec))
    }
}

/// Words as tokens: the mock's whole notion of a tokenizer.
fn count_words(req: &ChatRequest) -> usize {
    req.system
        .iter()
        .chain(req.messages.iter().map(|m| &m.content))
        .map(|text| text.split_whitespace().count())
        .sum()
}

impl ChatModel for Mock {
    fn stream(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        let interval = self.interval();
        Box::pin(async move {
            let reply = Self::reply_text(&req);
            let limit = req.max_tokens.map_or(usize::MAX, |n| n as usize);
            let words: Vec<String> = reply
                .split_whitespace()
                .take(limit)
                .enumerate()
                .map(|(i, w)| {
                    if i == 0 {
                        w.to_owned()
                    } else {
                        format!(" {w}")
                    }
                })
                .collect();
            let truncated = reply.split_whitespace().count() > words.len();
            let usage = Usage {
                prompt_tokens: i64::try_from(count_words(&req)).unwrap_or(i64::MAX),
                completion_tokens: i64::try_from(words.len()).unwrap_or(i64::MAX),
                cached_prompt_tokens: 0,
            };
            let done = StreamEvent::Done {
                usage,
                finish_reason: Some(if truncated { "length" } else { "stop" }.to_owned()),
                model: format!("mock/{}", req.model),
            };
            let started = Instant::now();
            let deltas = futures_util::stream::iter(words.into_iter().enumerate()).then(
                move |(i, word)| async move {
                    if let Some(step) = interval {
                        // Paced from the start, so the rate does not drift with scheduling.
                        let at = started + step.mul_f64(i as f64 + 1.0);
                        tokio::time::sleep_until(at).await;
                    }
                    Ok(StreamEvent::Delta(word))
                },
            );
            let stream: ChatStream =
                Box::pin(deltas.chain(futures_util::stream::once(async move { Ok(done) })));
            Ok(stream)
        })
    }
}
