//! WebSocket frames (DESIGN §5), documented for clients in `docs/protocol.md`.

use serde::{Deserialize, Serialize};

use crate::{
    events::EventPayload, events::MessageView, events::UserEvent, ConversationId, ErrorCode,
    MessageId, UserId,
};

/// A frame a client sends. `id` is echoed in the answer so clients can match replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    Subscribe {
        #[serde(default)]
        id: Option<String>,
        conversation_id: ConversationId,
        /// Resume point: the last (epoch, offset) the client saw.
        #[serde(default)]
        epoch: Option<String>,
        #[serde(default)]
        offset: Option<u64>,
    },
    Unsubscribe {
        #[serde(default)]
        id: Option<String>,
        conversation_id: ConversationId,
    },
    Send {
        #[serde(default)]
        id: Option<String>,
        conversation_id: ConversationId,
        content: String,
        #[serde(default)]
        client_id: Option<String>,
        #[serde(default)]
        reply_to_id: Option<MessageId>,
        /// Reply in the thread under this message (issue 19).
        #[serde(default)]
        thread_root_id: Option<MessageId>,
    },
    /// The user is typing. Ephemeral; rate-limited by the gateway.
    Typing {
        #[serde(default)]
        id: Option<String>,
        conversation_id: ConversationId,
    },
    Cancel {
        #[serde(default)]
        id: Option<String>,
        conversation_id: ConversationId,
        #[serde(default)]
        job_id: Option<String>,
    },
    /// Re-authenticate an open socket with a fresh access token.
    Auth {
        #[serde(default)]
        id: Option<String>,
        token: String,
    },
    Ping {
        #[serde(default)]
        id: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadyUser {
    pub id: UserId,
    pub username: String,
}

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Ready {
        connection_id: String,
        user: ReadyUser,
        /// The gateway replica serving this socket (for support and debugging).
        #[serde(default)]
        node_id: String,
        /// How often the server pings; a client silent for much longer is disconnected.
        #[serde(default)]
        heartbeat_interval_ms: u64,
        /// When the access token expires (Unix seconds); send an `auth` frame before then.
        #[serde(default)]
        expires_at: i64,
    },
    /// The answer to an `auth` frame: the socket now runs on the new token.
    Authenticated {
        id: Option<String>,
        expires_at: i64,
    },
    Subscribed {
        id: Option<String>,
        conversation_id: ConversationId,
        epoch: String,
        offset: u64,
        /// False when missed events could not be replayed: reload history over REST.
        recovered: bool,
    },
    Unsubscribed {
        id: Option<String>,
        conversation_id: ConversationId,
    },
    Event {
        conversation_id: ConversationId,
        epoch: String,
        offset: u64,
        event: EventPayload,
    },
    Ack {
        id: Option<String>,
        message: MessageView,
        job_id: Option<String>,
    },
    /// The answer to `cancel`: the stop was requested (the worker then publishes the outcome).
    CancelRequested {
        id: Option<String>,
        conversation_id: ConversationId,
        job_id: String,
    },
    /// An event on the user's own channel (friend requests, conversations added or removed).
    Notification {
        event: UserEvent,
    },
    Presence {
        conversation_id: ConversationId,
        user_id: UserId,
        online: bool,
    },
    Pong {
        id: Option<String>,
    },
    Error {
        id: Option<String>,
        code: ErrorCode,
        message: String,
        /// Field-level problems (with the broken limit, where there is one), as in the REST
        /// problem body.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        errors: Vec<crate::FieldError>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_parse_from_their_documented_shape() {
        let f: ClientFrame = serde_json::from_str(
            r#"{"type":"subscribe","conversation_id":5,"epoch":"e1","offset":17}"#,
        )
        .unwrap();
        assert_eq!(
            f,
            ClientFrame::Subscribe {
                id: None,
                conversation_id: ConversationId(5),
                epoch: Some("e1".into()),
                offset: Some(17)
            }
        );
    }

    #[test]
    fn unknown_fields_and_types_are_rejected() {
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"ping","bogus":1}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"explode"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(
            r#"{"type":"send","conversation_id":"x","content":"a"}"#
        )
        .is_err());
    }

    #[test]
    fn error_frame_carries_the_shared_error_code() {
        let frame = ServerFrame::Error {
            id: Some("7".into()),
            code: ErrorCode::Forbidden,
            message: "not a member".into(),
            errors: Vec::new(),
        };
        let v = serde_json::to_value(&frame).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["code"], "forbidden");
        assert_eq!(v["id"], "7");
    }
}
