//! One socket's life, in explicit phases: (handshake and authentication happen in `routes`
//! before the upgrade) → attach (user channel, presence) → `ready` → live loop (client frames,
//! heartbeats, token expiry, close requests) → cleanup.
//!
//! The task owns the inbound side only. Outbound frames go through the socket's queue
//! (`socket::Out`), which the router fills directly; this task never sits between the bus and
//! a client. Slow operations (`send`, `cancel`) run in their own tasks so a database stall does
//! not stop this socket's heartbeats and reads.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat::messages::SendInput;
use domain::frames::{ClientFrame, ReadyUser, ServerFrame};
use domain::{ConversationId, ErrorCode};
use platform::upgrade::Upgraded;
use platform::AuthUser;
use tokio::time::Instant;
use tracing::Instrument;

use crate::commands;
use crate::hub::{ConnId, SocketHandle};
use crate::limits::{ConnectionLimits, ErrorVerdict};
use crate::protocol::{self, close, SimpleInbound};
use crate::socket::{self, Control, FrameReader, Inbound, Out, OutQueue, ReadError};
use crate::state::{Gateway, SocketGuard};
use crate::subscriptions::{self, SubscribeRequest};

/// Which protocol the socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `/ws`: the full protocol of `docs/protocol.md`.
    Full,
    /// `/ws/{conversation_id}`: auto-subscribed; `{"content": …}` in, message JSON out.
    Simple(ConversationId),
}

pub struct Connection {
    gw: Arc<Gateway>,
    id: ConnId,
    user: AuthUser,
    socket: SocketHandle,
    mode: Mode,
    limits: ConnectionLimits,
    inflight: Arc<AtomicUsize>,
}

/// What the loop does after a client frame.
enum After {
    Continue,
    /// Re-authenticated: the token now expires at this Unix time.
    Reauthenticated(i64),
}

impl Connection {
    /// Serves one upgraded socket until it is closed: the connection task reads client frames,
    /// the writer writes the queue; both live in this one future (no task per socket).
    ///
    /// Not an `async fn`: the state is built here and the future captures each piece once and
    /// only borrows it. An async fn stores its arguments, and again every local they are moved
    /// into, for the socket's whole life (rust-lang/rust#62958: ~600 bytes per socket here).
    pub fn serve(
        gw: Arc<Gateway>,
        open: SocketGuard,
        user: AuthUser,
        mode: Mode,
        upgraded: Upgraded,
    ) -> impl std::future::Future<Output = ()> {
        let Upgraded { mut io, read_buf } = upgraded;
        limit_send_buffer(&io, gw.cfg.send_buffer_bytes);
        let control = Arc::new(Control::new(gw.cfg.queue_capacity, gw.cfg.max_queue_age));
        let mut out = OutQueue::new(control.clone(), matches!(mode, Mode::Simple(_)));
        let write_timeout = gw.cfg.idle_timeout;
        let hard_max = gw.cfg.hard_max_frame_bytes;
        let mut conn = Connection {
            id: gw.next_connection_id(),
            limits: ConnectionLimits::new(&gw.cfg),
            gw,
            user,
            socket: SocketHandle { control },
            mode,
            inflight: Arc::new(AtomicUsize::new(0)),
        };
        async move {
            {
                let (read_half, write_half) = io.split();
                let mut reader = FrameReader::new(read_half, read_buf, hard_max);
                futures_util::future::join(
                    conn.run(&mut reader),
                    socket::write_frames(write_half, &mut out, write_timeout),
                )
                .await;
            }
            socket::linger(&mut io).await;
            // Naming the guard here moves it into the future: the socket counts as open until
            // its connection is closed (the drain waits on it).
            drop(open);
        }
    }

    fn push(&self, frame: Bytes) {
        self.socket.push(Out::frame(frame), &self.gw.metrics);
    }

    fn close(&self, code: u16, reason: &'static str) {
        self.socket.control.close(code, reason);
    }

    // Every sub-future awaited here is boxed: a task's future is as large as its largest state,
    // and it lives as long as the socket (unboxed it measured ~9 KB per idle socket). The boxes
    // exist only while an operation runs.
    async fn run(&mut self, reader: &mut FrameReader<'_>) {
        let simple = matches!(self.mode, Mode::Simple(_));
        let gw = self.gw.clone();
        let attached = Box::pin(gw.hub.attach(
            self.id,
            self.user.id,
            self.user.session.as_deref().map(Arc::from),
            self.socket.clone(),
            simple,
        ))
        .await;
        match attached {
            Ok(first) => {
                if first {
                    Box::pin(gw.presence.user_online(self.user.id)).await;
                }
                self.live(reader).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot subscribe the user channel; refusing socket");
                self.close(close::TRY_AGAIN, "temporarily unavailable, retry");
            }
        }
        if !self.socket.control.is_done() {
            self.close(close::NORMAL, "");
        }
        if Box::pin(gw.hub.detach(self.id)).await {
            Box::pin(gw.presence.user_offline(self.user.id)).await;
        }
    }

    async fn live(&mut self, reader: &mut FrameReader<'_>) {
        match self.mode {
            Mode::Full => self.push(protocol::server_frame(&ServerFrame::Ready {
                connection_id: self.gw.connection_label(self.id),
                user: ReadyUser {
                    id: self.user.id,
                    username: self.user.username.clone(),
                },
                node_id: self.gw.node_id.clone(),
                heartbeat_interval_ms: self.gw.cfg.heartbeat_interval.as_millis() as u64,
                expires_at: self.user.expires_at,
            })),
            Mode::Simple(conversation) => {
                let req = SubscribeRequest {
                    id: None,
                    conversation_id: conversation,
                    epoch: None,
                    offset: None,
                };
                let subscribed = Box::pin(subscriptions::subscribe(
                    &self.gw,
                    self.id,
                    self.user.id,
                    true,
                    req,
                ))
                .await;
                if let Err(e) = subscribed {
                    self.push(protocol::error_frame(None, e.code, e.detail));
                    self.close(close::TRY_AGAIN, "subscribe failed, retry");
                    return;
                }
            }
        }

        let control: Arc<Control> = self.socket.control.clone();
        // One timer for both deadlines (the next server ping and the token's expiry): every
        // tokio timer is ~100 bytes that an idle socket carries for its whole life.
        let hb = self.gw.cfg.heartbeat_interval;
        let mut next_ping = Instant::now() + hb;
        let mut expires = expiry_instant(self.user.expires_at);
        let mut last_seen = Instant::now();
        let timer = tokio::time::sleep_until(next_ping.min(expires));
        tokio::pin!(timer);

        while !control.is_done() {
            tokio::select! {
                biased;
                _ = control.changed() => {}
                _ = &mut timer => {
                    let now = Instant::now();
                    if now >= expires {
                        self.close(close::UNAUTHORIZED, "token expired");
                    } else if now >= next_ping {
                        if last_seen.elapsed() > self.gw.cfg.idle_timeout {
                            self.close(close::HEARTBEAT_TIMEOUT, "heartbeat timeout");
                        } else {
                            self.push(protocol::ping_frame());
                        }
                        next_ping = now + hb;
                    }
                    timer.as_mut().reset(next_ping.min(expires));
                }
                inbound = reader.next() => match inbound {
                    None => {
                        // The client went away without a close frame.
                        self.close(close::NORMAL, "");
                    }
                    Some(Err(ReadError::TooBig)) => {
                        self.push(protocol::error_frame(
                            None,
                            ErrorCode::PayloadTooLarge,
                            format!(
                                "frame exceeds {} bytes; the stream cannot continue",
                                self.gw.cfg.hard_max_frame_bytes
                            ),
                        ));
                        self.close(close::TOO_BIG, "frame too large");
                    }
                    Some(Err(ReadError::Protocol(_))) => {
                        self.close(close::POLICY, "websocket protocol error");
                    }
                    Some(Ok(frame)) => {
                        last_seen = Instant::now();
                        match Box::pin(self.on_inbound(frame)).await {
                            ControlFlow::Continue(After::Continue) => {}
                            ControlFlow::Continue(After::Reauthenticated(exp)) => {
                                expires = expiry_instant(exp);
                                timer.as_mut().reset(next_ping.min(expires));
                            }
                            ControlFlow::Break(()) => {}
                        }
                    }
                },
            }
        }
    }

    /// Sends an error frame; a client that keeps provoking them is closed as abusive.
    fn error(&mut self, id: Option<String>, code: ErrorCode, message: impl Into<String>) {
        self.gw.metrics.error_frames.increment(1);
        tracing::Span::current().record("ws.error_code", code.as_str());
        self.push(protocol::error_frame(id, code, message));
        if self.limits.record_error() == ErrorVerdict::Abusive {
            self.gw.metrics.abusive_closes.increment(1);
            self.close(close::POLICY, "too many errors");
        }
    }

    async fn on_inbound(&mut self, inbound: Inbound) -> ControlFlow<(), After> {
        match inbound {
            Inbound::Text(bytes) => {
                if !self.limits.allow_frame() {
                    let id = std::str::from_utf8(&bytes)
                        .ok()
                        .and_then(protocol::frame_id);
                    self.error(id, ErrorCode::RateLimited, "too many frames; slow down");
                    return ControlFlow::Continue(After::Continue);
                }
                if bytes.len() > self.gw.cfg.max_frame_bytes {
                    self.error(
                        None,
                        ErrorCode::PayloadTooLarge,
                        format!(
                            "frame of {} bytes exceeds the limit of {} bytes",
                            bytes.len(),
                            self.gw.cfg.max_frame_bytes
                        ),
                    );
                    return ControlFlow::Continue(After::Continue);
                }
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    // RFC 6455 §8.1: invalid UTF-8 in a text frame fails the connection.
                    self.close(close::INVALID_DATA, "text frame is not valid UTF-8");
                    return ControlFlow::Break(());
                };
                match self.mode {
                    Mode::Full => match protocol::parse_client_frame(text) {
                        Ok(frame) => {
                            let span = op_span(&frame, &self.user);
                            self.on_frame(frame).instrument(span).await
                        }
                        Err(e) => {
                            self.error(e.id, e.code, e.message);
                            ControlFlow::Continue(After::Continue)
                        }
                    },
                    Mode::Simple(conversation) => {
                        let span = simple_span(conversation, &self.user);
                        let _entered = span.enter();
                        self.on_simple(conversation, text);
                        ControlFlow::Continue(After::Continue)
                    }
                }
            }
            Inbound::Binary(_) => {
                if self.limits.allow_frame() {
                    self.error(
                        None,
                        ErrorCode::UnsupportedMediaType,
                        "binary frames are not supported; send JSON text frames",
                    );
                } else {
                    self.error(None, ErrorCode::RateLimited, "too many frames; slow down");
                }
                ControlFlow::Continue(After::Continue)
            }
            Inbound::Ping(payload) => {
                // Over the frame rate, pings go unanswered rather than costing writes.
                if self.limits.allow_frame() {
                    self.push(protocol::pong_frame(&payload));
                }
                ControlFlow::Continue(After::Continue)
            }
            Inbound::Pong => ControlFlow::Continue(After::Continue),
            Inbound::Close(_) => {
                self.close(close::NORMAL, "");
                ControlFlow::Break(())
            }
        }
    }

    async fn on_frame(&mut self, frame: ClientFrame) -> ControlFlow<(), After> {
        match frame {
            ClientFrame::Subscribe {
                id,
                conversation_id,
                epoch,
                offset,
            } => {
                let req = SubscribeRequest {
                    id: id.clone(),
                    conversation_id,
                    epoch,
                    offset,
                };
                // Boxed: the subscribe path is the largest state machine, and an idle socket
                // should not carry its size.
                let result = Box::pin(subscriptions::subscribe(
                    &self.gw,
                    self.id,
                    self.user.id,
                    false,
                    req,
                ))
                .await;
                if let Err(e) = result {
                    self.error(id, e.code, e.detail);
                }
            }
            ClientFrame::Unsubscribe {
                id,
                conversation_id,
            } => {
                self.gw.hub.unsubscribe(self.id, conversation_id).await;
                self.push(protocol::server_frame(&ServerFrame::Unsubscribed {
                    id,
                    conversation_id,
                }));
            }
            ClientFrame::Send {
                id,
                conversation_id,
                content,
                client_id,
                reply_to_id,
                thread_root_id,
            } => {
                let input = SendInput {
                    content,
                    client_id,
                    reply_to_id,
                    thread_root_id,
                    ..SendInput::default()
                };
                let (gw, user) = (self.gw.clone(), self.user.clone());
                self.spawn_op(id.clone(), async move {
                    commands::send(&gw, &user, id, conversation_id, input).await
                });
            }
            ClientFrame::Typing {
                id,
                conversation_id,
            } => {
                if self.limits.allow_typing(conversation_id) {
                    let subscribed = self.gw.hub.is_subscribed(self.id, conversation_id);
                    let result = Box::pin(commands::typing(
                        &self.gw,
                        &self.user,
                        conversation_id,
                        subscribed,
                    ))
                    .await;
                    if let Err(e) = result {
                        self.error(id, e.code, e.detail);
                    }
                }
            }
            ClientFrame::Cancel {
                id,
                conversation_id,
                job_id,
            } => {
                let (gw, user) = (self.gw.clone(), self.user.clone());
                self.spawn_op(id.clone(), async move {
                    commands::cancel(&gw, &user, id, conversation_id, job_id).await
                });
            }
            ClientFrame::Auth { id, token } => match self.gw.auth.authenticate(&token).await {
                Ok(user) if user.id == self.user.id => {
                    let expires_at = user.expires_at;
                    self.user = user;
                    self.push(protocol::server_frame(&ServerFrame::Authenticated {
                        id,
                        expires_at,
                    }));
                    return ControlFlow::Continue(After::Reauthenticated(expires_at));
                }
                Ok(_) => self.error(
                    id,
                    ErrorCode::Forbidden,
                    "the token belongs to another user; open a new socket",
                ),
                Err(e) => self.error(id, e.code, e.detail),
            },
            ClientFrame::Ping { id } => {
                self.push(protocol::server_frame(&ServerFrame::Pong { id }));
            }
        }
        ControlFlow::Continue(After::Continue)
    }

    /// A simple-form frame: `{"content": "…"}` is sent to the socket's conversation; the
    /// message comes back to every subscriber (the sender included) as message JSON.
    fn on_simple(&mut self, conversation: ConversationId, text: &str) {
        match serde_json::from_str::<SimpleInbound>(text) {
            Ok(inbound) => {
                let input = SendInput {
                    content: inbound.content,
                    client_id: inbound.client_id,
                    ..SendInput::default()
                };
                let (gw, user) = (self.gw.clone(), self.user.clone());
                self.spawn_op(None, async move {
                    let actor = chat::Actor::from(&user);
                    match chat::messages::send(&gw.chat, &actor, conversation, input).await {
                        // The message itself arrives through the subscription.
                        Ok(_) => Bytes::new(),
                        Err(e) => protocol::problem_frame(None, e),
                    }
                });
            }
            Err(e) => {
                let code = if e.is_data() {
                    ErrorCode::Validation
                } else {
                    ErrorCode::BadRequest
                };
                self.error(None, code, format!("expected {{\"content\": \"…\"}}: {e}"));
            }
        }
    }

    /// Runs a slow operation in its own task; its answer goes straight into the socket queue.
    fn spawn_op<F>(&mut self, id: Option<String>, op: F)
    where
        F: std::future::Future<Output = Bytes> + 'static,
    {
        if self.inflight.load(Ordering::Relaxed) >= self.gw.cfg.max_inflight_ops {
            self.error(
                id,
                ErrorCode::RateLimited,
                "too many operations in flight; wait for their answers",
            );
            return;
        }
        self.inflight.fetch_add(1, Ordering::Relaxed);
        let inflight = self.inflight.clone();
        let socket = self.socket.clone();
        let metrics = self.gw.metrics.clone();
        // In the operation's span: its database and Redis spans (and the job it enqueues, and
        // so the whole AI reply) belong to this frame's trace.
        actix_web::rt::spawn(
            async move {
                let frame = op.await;
                inflight.fetch_sub(1, Ordering::Relaxed);
                if !frame.is_empty() {
                    socket.push(Out::frame(frame), &metrics);
                }
            }
            .in_current_span(),
        );
    }
}

/// One span per client operation (issue 23): the frame type, the conversation and the user, an
/// error code when the answer is an error frame, error status and cause for a server fault. A
/// root span of its own (the socket lives for hours; one trace per operation, not per socket).
fn op_span(frame: &ClientFrame, user: &AuthUser) -> tracing::Span {
    let (kind, conversation) = match frame {
        ClientFrame::Subscribe {
            conversation_id, ..
        } => ("subscribe", Some(*conversation_id)),
        ClientFrame::Unsubscribe {
            conversation_id, ..
        } => ("unsubscribe", Some(*conversation_id)),
        ClientFrame::Send {
            conversation_id, ..
        } => ("send", Some(*conversation_id)),
        ClientFrame::Typing {
            conversation_id, ..
        } => ("typing", Some(*conversation_id)),
        ClientFrame::Cancel {
            conversation_id, ..
        } => ("cancel", Some(*conversation_id)),
        ClientFrame::Auth { .. } => ("auth", None),
        ClientFrame::Ping { .. } => ("ping", None),
    };
    ws_span(kind, conversation, user)
}

fn simple_span(conversation: ConversationId, user: &AuthUser) -> tracing::Span {
    ws_span("send", Some(conversation), user)
}

fn ws_span(
    kind: &'static str,
    conversation: Option<ConversationId>,
    user: &AuthUser,
) -> tracing::Span {
    use tracing::field::Empty;
    let span = tracing::info_span!(
        parent: None,
        "ws",
        otel.name = %format_args!("ws {kind}"),
        otel.kind = "server",
        ws.frame.type = kind,
        conversation_id = Empty,
        user.id = %user.id,
        ws.error_code = Empty,
        otel.status_code = Empty,
        otel.status_description = Empty,
        trace_id = Empty,
        span_id = Empty,
    );
    if let Some(conversation) = conversation {
        span.record("conversation_id", tracing::field::display(conversation));
    }
    platform::telemetry::record_ids(&span);
    span
}

/// The instant a token expiring at `exp` (Unix seconds) stops being valid.
fn expiry_instant(exp: i64) -> Instant {
    let left = exp - chrono::Utc::now().timestamp();
    Instant::now() + Duration::from_secs(left.clamp(0, 10 * 365 * 86_400) as u64)
}

/// Caps the kernel's send buffer of one socket (see `GatewayConfig::send_buffer_bytes`). Best
/// effort: a platform that refuses keeps its default, and the queue limits still apply.
fn limit_send_buffer(io: &tokio::net::TcpStream, bytes: usize) {
    if bytes == 0 {
        return;
    }
    if let Err(e) = socket2::SockRef::from(io).set_send_buffer_size(bytes) {
        tracing::debug!(error = %e, "could not set SO_SNDBUF");
    }
}
