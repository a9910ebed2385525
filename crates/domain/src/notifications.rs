//! The per-user inbox (issue 19): what a notification is, as clients see it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ConversationId, MessageId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// Someone mentioned you (`@you`, or `@everyone` from an owner or admin).
    Mention,
    /// Someone replied in the thread under your message.
    ThreadReply,
    /// A direct message arrived while you had no open socket.
    DirectMessage,
    /// Someone asked to be your friend.
    FriendRequest,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Mention => "mention",
            NotificationKind::ThreadReply => "thread_reply",
            NotificationKind::DirectMessage => "direct_message",
            NotificationKind::FriendRequest => "friend_request",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "mention" => NotificationKind::Mention,
            "thread_reply" => NotificationKind::ThreadReply,
            "direct_message" => NotificationKind::DirectMessage,
            "friend_request" => NotificationKind::FriendRequest,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationView {
    pub id: i64,
    pub kind: NotificationKind,
    /// Who caused it (absent once that account is gone).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub actor_id: Option<UserId>,
    pub actor_username: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub conversation_id: Option<ConversationId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub message_id: Option<MessageId>,
    /// A short excerpt of the message, for the inbox line.
    pub preview: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}
