//! The wire: close codes, server frames encoded once into complete WebSocket frames, and client
//! frames parsed with an error that names the problem.
//!
//! Server→client frames are encoded here (not by a codec per socket) so one event is serialised
//! and framed once and then shared, as a reference-counted `Bytes`, by every socket it goes to.

use std::sync::{Arc, OnceLock};

use bytes::{BufMut, Bytes, BytesMut};
use domain::frames::{ClientFrame, ServerFrame};
use domain::{ConversationId, ErrorCode, UserId};
use serde::Deserialize;

/// Close codes (RFC 6455 §7.4 plus application codes in 4000–4999), documented in
/// `docs/protocol.md`.
pub mod close {
    /// The client closed, or the socket ended normally.
    pub const NORMAL: u16 = 1000;
    /// This replica is shutting down: reconnect (to any replica) and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// A text frame that is not UTF-8 (RFC 6455 requires closing).
    pub const INVALID_DATA: u16 = 1007;
    /// Abusive client: too many errors or far over the frame rate.
    pub const POLICY: u16 = 1008;
    /// A frame beyond the hard size limit: the stream cannot be resynchronised.
    pub const TOO_BIG: u16 = 1009;
    /// Overload: this socket's queue overflowed (slow consumer) or the replica is full.
    /// Reconnect after a short backoff and resume from the last (epoch, offset).
    pub const TRY_AGAIN: u16 = 1013;
    /// The access token expired or the session was revoked: re-authenticate.
    pub const UNAUTHORIZED: u16 = 4401;
    /// The peer stopped answering heartbeats.
    pub const HEARTBEAT_TIMEOUT: u16 = 4408;
}

const OP_TEXT: u8 = 0x1;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// One complete, unmasked server WebSocket frame (FIN set).
fn ws_frame(opcode: u8, payload: &[u8]) -> Bytes {
    let len = payload.len();
    let mut b = BytesMut::with_capacity(len + 10);
    b.put_u8(0x80 | opcode);
    if len < 126 {
        b.put_u8(len as u8);
    } else if len <= u16::MAX as usize {
        b.put_u8(126);
        b.put_u16(len as u16);
    } else {
        b.put_u8(127);
        b.put_u64(len as u64);
    }
    b.extend_from_slice(payload);
    b.freeze()
}

pub fn text_frame(json: &str) -> Bytes {
    ws_frame(OP_TEXT, json.as_bytes())
}

/// A server frame serialised and framed.
pub fn server_frame(frame: &ServerFrame) -> Bytes {
    match serde_json::to_string(frame) {
        Ok(json) => text_frame(&json),
        // Our own enums always serialise; should that ever change, say so on the socket.
        Err(e) => {
            tracing::error!(error = %e, "server frame did not serialise");
            text_frame(r#"{"type":"error","id":null,"code":"internal","message":"internal error"}"#)
        }
    }
}

pub fn error_frame(id: Option<String>, code: ErrorCode, message: impl Into<String>) -> Bytes {
    server_frame(&ServerFrame::Error {
        id,
        code,
        message: message.into(),
        errors: Vec::new(),
    })
}

/// The one rendering of a use-case error on the socket: the same code, sentence and field
/// errors (with their limits) as the REST problem body. A server fault's cause is logged here,
/// never sent.
pub fn problem_frame(id: Option<String>, error: impl Into<platform::ApiError>) -> Bytes {
    let error: platform::ApiError = error.into();
    if error.code.http_status() >= 500 {
        tracing::error!(error = %error, "command failed");
        // The operation's span (`connection::op_span`) shows the failure and its cause.
        platform::telemetry::record_error(&tracing::Span::current(), &error);
    } else {
        tracing::Span::current().record("ws.error_code", error.code.as_str());
    }
    let body = error.body();
    server_frame(&ServerFrame::Error {
        id,
        code: body.code,
        message: body.detail,
        errors: body.errors,
    })
}

/// A close frame; the reason is cut to the 123 bytes a control frame allows.
pub fn close_frame(code: u16, reason: &str) -> Bytes {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = Vec::with_capacity(2 + end);
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    ws_frame(OP_CLOSE, &payload)
}

pub fn ping_frame() -> Bytes {
    ws_frame(OP_PING, b"hb")
}

pub fn pong_frame(payload: &[u8]) -> Bytes {
    ws_frame(OP_PONG, &payload[..payload.len().min(125)])
}

/// One log entry as it goes to sockets, built once per entry and shared by every subscriber.
#[derive(Debug)]
pub struct EventFrame {
    pub conversation_id: ConversationId,
    pub epoch: Arc<str>,
    pub offset: u64,
    payload: Box<str>,
    /// The `event` frame of the full protocol, framed.
    full: Bytes,
    /// The bare message JSON of the simple `/ws/{id}` form, computed on first use (most
    /// deployments have no simple clients, so most entries never pay for it).
    simple: OnceLock<Option<Bytes>>,
}

impl EventFrame {
    pub fn new(
        conversation_id: ConversationId,
        epoch: Arc<str>,
        offset: u64,
        payload: &str,
    ) -> Self {
        // The payload is the event JSON exactly as published: spliced in, not decoded and
        // re-encoded (the same shape as `ServerFrame::Event`; a test checks it).
        let epoch_json = serde_json::to_string(&*epoch).unwrap_or_else(|_| "\"\"".to_owned());
        let json = format!(
            r#"{{"type":"event","conversation_id":{},"epoch":{epoch_json},"offset":{offset},"event":{payload}}}"#,
            conversation_id.0
        );
        Self {
            conversation_id,
            epoch,
            offset,
            payload: payload.into(),
            full: text_frame(&json),
            simple: OnceLock::new(),
        }
    }

    pub fn full(&self) -> &Bytes {
        &self.full
    }

    /// The frame for a simple-form socket: the message of `message.created`, `message.edited`
    /// and `message.completed` events (a `MessageView`: id, conversation_id, author_username,
    /// content, created_at, …); `None` for every other event.
    pub fn simple(&self) -> Option<&Bytes> {
        self.simple
            .get_or_init(|| simple_message(&self.payload).map(text_frame))
            .as_ref()
    }

    /// The user whose action this event is (author of a created/edited message, the typist, the
    /// person reacting), for the block filter: a blocked user's messages, typing and reactions
    /// are not delivered to the blocker (the same list as `ConversationEvent::actor`).
    pub fn actor(&self) -> Option<UserId> {
        #[derive(serde::Deserialize)]
        struct Author {
            author_id: Option<UserId>,
        }
        #[derive(serde::Deserialize)]
        struct ActorProbe {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            message: Option<Author>,
            #[serde(default)]
            user_id: Option<UserId>,
        }
        let probe: ActorProbe = serde_json::from_str(&self.payload).ok()?;
        match probe.kind.as_str() {
            "message.created" | "message.edited" => probe.message.and_then(|m| m.author_id),
            "typing"
            | "message.reaction_added"
            | "message.reaction_removed"
            | "conversation.read_receipt" => probe.user_id,
            _ => None,
        }
    }

    /// Typing indicators are not replayed on resume: they are stale by then.
    pub fn is_typing(&self) -> bool {
        event_type(&self.payload).as_deref() == Some("typing")
    }

    pub fn payload(&self) -> &str {
        &self.payload
    }
}

#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    message: Option<&'a serde_json::value::RawValue>,
}

fn event_type(payload: &str) -> Option<String> {
    serde_json::from_str::<Probe<'_>>(payload)
        .ok()
        .map(|p| p.kind.into_owned())
}

fn simple_message(payload: &str) -> Option<&str> {
    let probe: Probe<'_> = serde_json::from_str(payload).ok()?;
    match &*probe.kind {
        "message.created" | "message.edited" | "message.completed" => {
            probe.message.map(|m| m.get())
        }
        _ => None,
    }
}

/// Why a client frame was refused, as an error frame says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub id: Option<String>,
    pub code: ErrorCode,
    pub message: String,
}

/// Parses a client frame. Broken JSON is `bad_request`; well-formed JSON of the wrong shape
/// (unknown type, missing or extra field, wrong type) is `validation`, with serde's own words
/// naming the field. The frame's `id`, when readable, is echoed.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    serde_json::from_str::<ClientFrame>(text).map_err(|e| {
        let code = if e.is_data() {
            ErrorCode::Validation
        } else {
            ErrorCode::BadRequest
        };
        let message = if e.is_data() {
            format!("invalid frame: {e}")
        } else {
            format!("malformed JSON: {e}")
        };
        FrameError {
            id: frame_id(text),
            code,
            message,
        }
    })
}

/// The `id` of a frame that did not parse, so even its error can be matched to it.
pub fn frame_id(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Option<serde_json::Value>,
    }
    match serde_json::from_str::<IdOnly>(text).ok()?.id? {
        serde_json::Value::String(s) if s.len() <= 128 => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What a simple-form client sends: `{"content": "…"}` (optionally a `client_id`).
#[derive(Debug, Deserialize)]
pub struct SimpleInbound {
    pub content: String,
    #[serde(default)]
    pub client_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::events::{ConversationEvent, EventPayload};

    fn payload(event: ConversationEvent) -> String {
        serde_json::to_string(&EventPayload::from(event)).unwrap()
    }

    fn unframe(b: &Bytes) -> &[u8] {
        let len = b[1] as usize;
        match len {
            126 => &b[4..],
            127 => &b[10..],
            _ => &b[2..],
        }
    }

    #[test]
    fn event_frame_has_the_shape_of_server_frame_event() {
        let p = payload(ConversationEvent::Delta {
            job_id: "j".into(),
            attempt: 1,
            text: "Hel\"lo".into(),
        });
        let f = EventFrame::new(ConversationId(7), "ab12".into(), 42, &p);
        let parsed: ServerFrame = serde_json::from_slice(unframe(f.full())).unwrap();
        match parsed {
            ServerFrame::Event {
                conversation_id,
                epoch,
                offset,
                event,
            } => {
                assert_eq!(conversation_id, ConversationId(7));
                assert_eq!(epoch, "ab12");
                assert_eq!(offset, 42);
                assert!(matches!(event.event, ConversationEvent::Delta { .. }));
            }
            other => panic!("{other:?}"),
        }
        assert!(f.simple().is_none());
        assert!(!f.is_typing());
    }

    #[test]
    fn frames_of_every_length_class_are_framed_correctly() {
        for len in [0usize, 125, 126, 65_535, 65_536] {
            let text = "x".repeat(len);
            let f = text_frame(&text);
            assert_eq!(f[0], 0x81);
            assert_eq!(unframe(&f).len(), len);
        }
    }

    #[test]
    fn close_reason_is_cut_on_a_char_boundary() {
        let f = close_frame(1013, &"é".repeat(100));
        assert!(f.len() <= 2 + 125);
        assert_eq!(&f[2..4], &1013u16.to_be_bytes());
        assert!(std::str::from_utf8(&f[4..]).is_ok());
    }

    #[test]
    fn client_frame_errors_are_classified_and_echo_the_id() {
        let e = parse_client_frame("{not json").unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
        let e = parse_client_frame(r#"{"type":"explode","id":"9"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(e.id.as_deref(), Some("9"));
        let e = parse_client_frame(r#"{"type":"send","id":"3","conversation_id":1}"#).unwrap_err();
        assert!(e.message.contains("content"), "{}", e.message);
        assert_eq!(e.id.as_deref(), Some("3"));
        // A numeric id is a mistake too, but it is still echoed so the client can match it.
        let e = parse_client_frame(r#"{"type":"ping","id":4}"#).unwrap_err();
        assert_eq!(e.id.as_deref(), Some("4"));
    }

    #[test]
    fn typing_and_messages_are_recognised_in_payloads() {
        let typing = payload(ConversationEvent::Typing {
            user_id: domain::UserId(1),
            username: "a".into(),
        });
        assert!(EventFrame::new(ConversationId(1), "e".into(), 1, &typing).is_typing());
    }
}
