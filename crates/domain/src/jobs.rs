//! Jobs on the `llm.jobs` stream (DESIGN §4). Every side effect of a job is idempotent on
//! `job_id`, so a job delivered twice never stores two replies or charges twice.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::trace::TraceContext;
use crate::{CharacterId, ConversationId, MessageId, StoryId, UserId};

pub const JOB_VERSION: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Answer the triggering user message in an AI conversation.
    Reply,
    /// Replace the last AI reply with a new one.
    Regenerate,
    /// Write a story (seed 000) from a prompt.
    Story,
    /// Add a variant to an AI turn (regenerate keeping the older variants, issue 15).
    Variant,
    /// Write more onto the end of an AI reply (`trigger_message_id` is that reply).
    Continue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmJob {
    pub v: u8,
    pub job_id: String,
    pub kind: JobKind,
    pub user_id: UserId,
    pub conversation_id: Option<ConversationId>,
    pub trigger_message_id: Option<MessageId>,
    pub story_id: Option<StoryId>,
    /// `provider/model`, or `None` for the character's preference or the default.
    pub model: Option<String>,
    /// The character to speak as; `None` means the conversation's own (AI chats). Set for
    /// characters mentioned in groups and channels.
    #[serde(default)]
    pub character_id: Option<CharacterId>,
    pub enqueued_at: DateTime<Utc>,
}

/// A job as it is written to `llm.jobs` and to the job outbox: the job's fields and, when the
/// request that accepted it was traced, its W3C trace context, so the worker's job span is a
/// child of that request (issue 23). A separate wrapper rather than a field of [`LlmJob`]:
/// the context is stamped where the job is written, not by whoever builds the job. Entries
/// without `trace` (older releases, tracing off) parse as before, and readers that decode a
/// plain [`LlmJob`] ignore the extra field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TracedJob {
    #[serde(flatten)]
    pub job: LlmJob,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceContext>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_round_trips_with_snake_case_kind() {
        let job = LlmJob {
            v: JOB_VERSION,
            job_id: "abc".into(),
            kind: JobKind::Regenerate,
            user_id: UserId(1),
            conversation_id: Some(ConversationId(2)),
            trigger_message_id: Some(MessageId(3)),
            story_id: None,
            model: Some("mock/echo".into()),
            enqueued_at: Utc::now(),
            character_id: None,
        };
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["kind"], "regenerate");
        assert_eq!(serde_json::from_value::<LlmJob>(json).unwrap(), job);
    }

    #[test]
    fn a_traced_job_reads_old_entries_and_old_readers_read_it() {
        let job = LlmJob {
            v: JOB_VERSION,
            job_id: "reply-7".into(),
            kind: JobKind::Reply,
            user_id: UserId(1),
            conversation_id: Some(ConversationId(2)),
            trigger_message_id: Some(MessageId(7)),
            story_id: None,
            model: None,
            enqueued_at: Utc::now(),
            character_id: None,
        };
        let old = serde_json::to_string(&job).unwrap();
        let read: TracedJob = serde_json::from_str(&old).unwrap();
        assert_eq!((read.job.clone(), read.trace), (job.clone(), None));
        let traced = TracedJob {
            job: job.clone(),
            trace: Some(TraceContext {
                traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
                tracestate: None,
            }),
        };
        let json = serde_json::to_string(&traced).unwrap();
        assert_eq!(serde_json::from_str::<TracedJob>(&json).unwrap(), traced);
        assert_eq!(serde_json::from_str::<LlmJob>(&json).unwrap(), job);
    }
}
