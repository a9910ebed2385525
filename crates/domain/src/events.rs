//! Events on a conversation's log (DESIGN §4). The bus assigns each one an (epoch, offset); the
//! gateway forwards them to sockets unchanged. The payload is versioned: `{"v":1,"type":…}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::reactions::ReactionCount;
use crate::{
    CharacterId, ConversationId, MemberRole, MessageId, MessageRole, MessageStatus, MessageType,
    StoryId, UserId,
};

/// The current payload version written by this code.
pub const EVENT_VERSION: u8 = 1;

/// A message as every client sees it, over REST and in events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageView {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub author_id: Option<UserId>,
    pub author_username: Option<String>,
    pub character_id: Option<CharacterId>,
    /// The AI character's name and picture for an assistant message, so every member of a room
    /// sees who spoke even when the character is private to its owner.
    #[serde(default)]
    pub character_name: Option<String>,
    #[serde(default)]
    pub character_avatar_url: Option<String>,
    pub role: MessageRole,
    pub message_type: MessageType,
    pub content: String,
    pub reply_to_id: Option<MessageId>,
    pub status: MessageStatus,
    pub model: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub client_id: Option<String>,
    pub job_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// The turn this message follows; `None` for a conversation's first turns (issue 15).
    #[serde(default)]
    pub parent_id: Option<MessageId>,
    /// Set where this message is one of several siblings (variants of an AI turn, branches
    /// after an edit-and-rerun): how many there are and which one this is. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<ForkInfo>,
    /// Reactions, aggregated per emoji, most chosen first (issue 19). `mine` is the viewer's
    /// own over REST; in events it is false (see [`ReactionCount`]).
    #[serde(default)]
    pub reactions: Vec<ReactionCount>,
    /// The people this message mentions with `@username`, resolved when it was sent (members
    /// of the conversation only; issue 19).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<i64>))]
    pub mentions: Vec<UserId>,
    /// An owner or admin addressed everyone (`@everyone` / `@here`).
    #[serde(default)]
    pub mention_everyone: bool,
    /// Whether an owner or admin pinned it in its conversation.
    #[serde(default)]
    pub pinned: bool,
    /// Set on a thread reply: the message whose thread it belongs to. Thread replies are not in
    /// the main timeline (`GET …/messages/{root}/thread` lists them).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub thread_root_id: Option<MessageId>,
    /// Set on a message with thread replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<ThreadSummary>,
}

/// A thread under a message: how many replies, the latest one's time, and (over REST) how
/// many of them the viewer has not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadSummary {
    pub reply_count: u32,
    pub last_reply_at: DateTime<Utc>,
    #[serde(default)]
    pub unread_count: u32,
}

/// Where a message sits among its siblings: `index` (0-based, oldest first) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForkInfo {
    pub index: u32,
    pub count: u32,
}

/// Token usage normalised across providers. Cached prompt tokens are part of `prompt_tokens` and
/// reported again only as detail, never added twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    #[serde(default)]
    pub cached_prompt_tokens: i64,
}

impl Usage {
    pub fn total(&self) -> i64 {
        self.prompt_tokens + self.completion_tokens
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ConversationEvent {
    #[serde(rename = "message.created")]
    MessageCreated { message: MessageView },
    #[serde(rename = "message.edited")]
    MessageEdited { message: MessageView },
    #[serde(rename = "message.deleted")]
    MessageDeleted {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    /// An AI reply began (or began again after a worker was lost: `attempt` > 1 tells clients to
    /// drop the deltas they hold for this job).
    #[serde(rename = "generation.started")]
    GenerationStarted {
        job_id: String,
        attempt: u32,
        model: String,
        character_id: Option<CharacterId>,
    },
    /// A batch of tokens of an AI reply in progress.
    #[serde(rename = "delta")]
    Delta {
        job_id: String,
        attempt: u32,
        text: String,
    },
    #[serde(rename = "message.completed")]
    Completed {
        job_id: String,
        message: MessageView,
        usage: Usage,
    },
    /// The reply failed (or was given up on). `reason` is for people; `code` says why for
    /// programs (absent from events written before it existed); `retryable` says whether asking
    /// again may succeed.
    #[serde(rename = "message.failed")]
    Failed {
        job_id: String,
        reason: String,
        retryable: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<FailureCode>,
    },
    /// A new variant of an AI turn (regenerate): `message` is its `streaming` placeholder, now
    /// the active one, `index` of `count` among its siblings. The text follows as the job's
    /// `generation.started`, `delta`s and `message.completed`.
    #[serde(rename = "message.variant_added")]
    VariantAdded {
        conversation_id: ConversationId,
        message: MessageView,
        index: u32,
        count: u32,
    },
    /// Another variant of an AI turn was selected: `message_id` is the active one now, `index`
    /// of `count`; the path below it changed to `leaf_id` (refetch the messages after it).
    #[serde(rename = "message.variant_selected")]
    VariantSelected {
        conversation_id: ConversationId,
        message_id: MessageId,
        index: u32,
        count: u32,
        leaf_id: MessageId,
    },
    /// The active path changed at `message_id` (a branch was selected, or an edit-and-rerun
    /// started one): the messages after its parent are now the path ending at `leaf_id`.
    #[serde(rename = "conversation.path_changed")]
    PathChanged {
        conversation_id: ConversationId,
        message_id: MessageId,
        leaf_id: MessageId,
    },
    /// `user_id` reacted with `emoji`; `count` is how many people have that reaction now.
    #[serde(rename = "message.reaction_added")]
    ReactionAdded {
        conversation_id: ConversationId,
        message_id: MessageId,
        user_id: UserId,
        emoji: String,
        count: u32,
    },
    #[serde(rename = "message.reaction_removed")]
    ReactionRemoved {
        conversation_id: ConversationId,
        message_id: MessageId,
        user_id: UserId,
        emoji: String,
        count: u32,
    },
    #[serde(rename = "message.pinned")]
    MessagePinned {
        conversation_id: ConversationId,
        message_id: MessageId,
        pinned_by: UserId,
    },
    #[serde(rename = "message.unpinned")]
    MessageUnpinned {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
    /// In a DM where both people turned read receipts on: `user_id` read up to `message_id`.
    #[serde(rename = "conversation.read_receipt")]
    ReadReceipt {
        conversation_id: ConversationId,
        user_id: UserId,
        message_id: MessageId,
    },
    /// A thread got a reply (the reply itself is a `message.created` with `thread_root_id`):
    /// the root's counter and time for the timeline.
    #[serde(rename = "thread.updated")]
    ThreadUpdated {
        conversation_id: ConversationId,
        root_id: MessageId,
        reply_count: u32,
        last_reply_at: DateTime<Utc>,
    },
    #[serde(rename = "typing")]
    Typing { user_id: UserId, username: String },
    #[serde(rename = "member.joined")]
    MemberJoined { user_id: UserId, role: MemberRole },
    #[serde(rename = "member.left")]
    MemberLeft { user_id: UserId },
    #[serde(rename = "member.role_changed")]
    MemberRoleChanged { user_id: UserId, role: MemberRole },
}

/// What is stored on the log: the event with its schema version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPayload {
    pub v: u8,
    #[serde(flatten)]
    pub event: ConversationEvent,
}

impl From<ConversationEvent> for EventPayload {
    fn from(event: ConversationEvent) -> Self {
        Self {
            v: EVENT_VERSION,
            event,
        }
    }
}

impl ConversationEvent {
    /// The user whose action produced the event, used by the fan-out block filter.
    pub fn actor(&self) -> Option<UserId> {
        match self {
            ConversationEvent::MessageCreated { message }
            | ConversationEvent::MessageEdited { message } => message.author_id,
            // A blocked person's reactions are hidden live like their messages.
            ConversationEvent::Typing { user_id, .. }
            | ConversationEvent::ReactionAdded { user_id, .. }
            | ConversationEvent::ReactionRemoved { user_id, .. }
            | ConversationEvent::ReadReceipt { user_id, .. } => Some(*user_id),
            _ => None,
        }
    }
}

/// Events on a user's own channel: notifications and multi-device sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum UserEvent {
    #[serde(rename = "friend.request")]
    FriendRequest {
        from_user_id: UserId,
        from_username: String,
    },
    #[serde(rename = "friend.accepted")]
    FriendAccepted { user_id: UserId, username: String },
    #[serde(rename = "conversation.added")]
    ConversationAdded { conversation_id: ConversationId },
    #[serde(rename = "conversation.removed")]
    ConversationRemoved { conversation_id: ConversationId },
    /// A new item in the user's inbox (issue 19).
    #[serde(rename = "notification.created")]
    NotificationCreated {
        notification: crate::notifications::NotificationView,
    },
    /// The user read up to `message_id` on one of their devices (in the thread under
    /// `thread_root_id` when set): the others move their marker and unread badge too.
    #[serde(rename = "conversation.read")]
    ConversationRead {
        conversation_id: ConversationId,
        message_id: MessageId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thread_root_id: Option<MessageId>,
    },
    /// The account was deactivated or its tokens revoked: sockets must close.
    #[serde(rename = "session.revoked")]
    SessionRevoked,
    /// One session ended (logout, refresh-token reuse): the sockets opened with its tokens
    /// must close; the user's other sessions stay.
    #[serde(rename = "session.ended")]
    SessionEnded { session_id: String },
    /// The user's block list changed; `blocked` is the whole new list, so the gateway's fan-out
    /// filter applies it to open subscriptions at once.
    #[serde(rename = "blocks.changed")]
    BlocksChanged { blocked: Vec<UserId> },
    /// A story's generation began (or began again after a worker was lost: `attempt` > 1 tells
    /// clients to drop the text they hold for this job).
    #[serde(rename = "story.started")]
    StoryStarted {
        story_id: StoryId,
        job_id: String,
        attempt: u32,
        model: String,
    },
    /// A batch of text of a story in progress.
    #[serde(rename = "story.delta")]
    StoryDelta {
        story_id: StoryId,
        job_id: String,
        attempt: u32,
        text: String,
    },
    /// The story is stored: fetch it over REST for the full text.
    #[serde(rename = "story.completed")]
    StoryCompleted {
        story_id: StoryId,
        job_id: String,
        usage: Usage,
    },
    /// The story could not be written (or was stopped); `retryable` says whether asking again
    /// may succeed.
    #[serde(rename = "story.failed")]
    StoryFailed {
        story_id: StoryId,
        job_id: String,
        reason: String,
        retryable: bool,
        /// Why, for programs; absent from events written before it existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<FailureCode>,
    },
}

/// A [`UserEvent`] as published on a user's channel: the event and, when the publisher was
/// traced, its W3C trace context (issue 23). The gateway reads the context and forwards the
/// event alone; payloads without `trace` parse as before, and readers that decode a plain
/// [`UserEvent`] ignore it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TracedUserEvent {
    #[serde(flatten)]
    pub event: UserEvent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::trace::TraceContext>,
}

/// Why an AI reply or story failed, in `message.failed` and `story.failed`. Clients decide on
/// it (offer a retry, point at the settings) instead of parsing the human `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// The provider is rate limiting (HTTP 429 and the like).
    RateLimited,
    /// The provider is overloaded (HTTP 503/529).
    Overloaded,
    /// The provider did not answer in time.
    Timeout,
    /// The provider refused the configured credentials.
    Auth,
    /// The account's billing quota is spent.
    QuotaExhausted,
    /// The provider rejected the request (unknown model, prompt too long, …).
    BadRequest,
    /// The provider's safety system withheld the reply.
    ContentFilter,
    /// The provider failed or could not be reached (server error, broken stream).
    Unavailable,
    /// The provider answered with no text.
    EmptyReply,
    /// Stopped on request.
    Cancelled,
    /// Something on our side.
    Internal,
}

impl FailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::RateLimited => "rate_limited",
            FailureCode::Overloaded => "overloaded",
            FailureCode::Timeout => "timeout",
            FailureCode::Auth => "auth",
            FailureCode::QuotaExhausted => "quota_exhausted",
            FailureCode::BadRequest => "bad_request",
            FailureCode::ContentFilter => "content_filter",
            FailureCode::Unavailable => "unavailable",
            FailureCode::EmptyReply => "empty_reply",
            FailureCode::Cancelled => "cancelled",
            FailureCode::Internal => "internal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_versioned_and_tagged_with_dotted_type() {
        let payload = EventPayload::from(ConversationEvent::Delta {
            job_id: "j1".into(),
            attempt: 1,
            text: "Hel".into(),
        });
        let json = serde_json::to_value(&payload).unwrap();
        assert_eq!(json["v"], 1);
        assert_eq!(json["type"], "delta");
        assert_eq!(json["text"], "Hel");
        let back: EventPayload = serde_json::from_value(json).unwrap();
        assert_eq!(back, payload);
    }

    #[test]
    fn story_events_are_tagged_with_dotted_type() {
        let event = UserEvent::StoryDelta {
            story_id: StoryId(4),
            job_id: "story-4".into(),
            attempt: 1,
            text: "Once".into(),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "story.delta");
        assert_eq!(json["story_id"], 4);
        assert_eq!(serde_json::from_value::<UserEvent>(json).unwrap(), event);
    }

    #[test]
    fn failed_carries_a_code_and_still_reads_events_without_one() {
        let event = ConversationEvent::Failed {
            job_id: "reply-1".into(),
            reason: "The AI provider is rate limiting requests.".into(),
            retryable: true,
            code: Some(FailureCode::RateLimited),
        };
        let json = serde_json::to_value(EventPayload::from(event.clone())).unwrap();
        assert_eq!(json["code"], "rate_limited");
        assert_eq!(json["retryable"], true);
        let old = serde_json::json!({
            "v": 1, "type": "message.failed", "job_id": "reply-1", "reason": "x", "retryable": false
        });
        let back: EventPayload = serde_json::from_value(old).unwrap();
        assert!(matches!(
            back.event,
            ConversationEvent::Failed { code: None, .. }
        ));
        let without = ConversationEvent::Failed {
            job_id: "j".into(),
            reason: "x".into(),
            retryable: false,
            code: None,
        };
        let json = serde_json::to_value(EventPayload::from(without)).unwrap();
        assert!(json.get("code").is_none(), "old clients see the old shape");
    }

    #[test]
    fn traced_user_events_parse_with_and_without_a_context() {
        let tc = crate::trace::TraceContext {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: None,
        };
        for event in [
            UserEvent::SessionRevoked,
            UserEvent::ConversationAdded {
                conversation_id: ConversationId(3),
            },
        ] {
            let traced = TracedUserEvent {
                event: event.clone(),
                trace: Some(tc.clone()),
            };
            let json = serde_json::to_string(&traced).unwrap();
            assert_eq!(
                serde_json::from_str::<TracedUserEvent>(&json).unwrap(),
                traced
            );
            // Readers of the plain event (older gateways) ignore the context.
            assert_eq!(serde_json::from_str::<UserEvent>(&json).unwrap(), event);
            let old = serde_json::to_string(&event).unwrap();
            let read: TracedUserEvent = serde_json::from_str(&old).unwrap();
            assert_eq!((read.event, read.trace), (event, None));
        }
    }

    #[test]
    fn usage_total_counts_cached_tokens_once() {
        let u = Usage {
            prompt_tokens: 100,
            completion_tokens: 20,
            cached_prompt_tokens: 60,
        };
        assert_eq!(u.total(), 120);
    }
}
