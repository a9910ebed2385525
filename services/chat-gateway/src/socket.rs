//! One WebSocket's plumbing, written against actix-http directly instead of actix-ws so that
//! its memory and its queue are ours to size:
//!
//! - [`Out`] items go into ONE bounded queue per socket. The router, the connection task and
//!   spawned operations all `try_send` into it; a full queue means the client is not reading,
//!   and the socket is closed (1013) rather than anyone waiting for it.
//! - [`OutBody`] is the response body: it pops the queue and hands out frames that were
//!   encoded once, for every subscriber, as shared `Bytes` (no per-socket encoding or copy
//!   besides the kernel write). actix-ws would add a second 32-slot channel, a codec and a
//!   boxed sender per socket, and a per-socket encode of every frame.
//! - [`Control`] carries the close decision (first one wins) to the body and to the connection
//!   task, whichever is waiting, also when the queue is full.
//! - [`FrameReader`] decodes client frames with a size limit and reassembles fragments.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use actix_http::ws::{CloseReason, Codec, Frame, Item, ProtocolError};
use actix_web::web;
use bytes::{Bytes, BytesMut};
use futures_util::task::AtomicWaker;
use futures_util::{Stream, StreamExt};
use tokio::sync::{mpsc, Notify};
use tokio_util::codec::Decoder;

use crate::protocol::{self, close, EventFrame};

/// Something to write to a socket.
#[derive(Debug)]
pub enum Out {
    /// A complete, encoded frame.
    Frame(Bytes),
    /// A conversation event; the body picks the full or the simple rendering.
    Event(Arc<EventFrame>),
    /// Frames that must reach the socket back to back (subscribed + replay), in one queue slot
    /// so a long replay cannot overflow the queue.
    Batch(Vec<Out>),
}

/// How a socket is to be closed, and whether its response body is gone.
#[derive(Default)]
pub struct Control {
    close: OnceLock<Closing>,
    body_waker: AtomicWaker,
    task: Notify,
    body_gone: AtomicBool,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("close", &self.close.get())
            .field("body_gone", &self.body_gone.load(Ordering::Relaxed))
            .finish()
    }
}

#[derive(Debug)]
struct Closing {
    code: u16,
    reason: Cow<'static, str>,
    /// Write what is queued before the close frame (an error frame explaining the close, the
    /// last events). A slow consumer's queue is dropped instead: it is not being read.
    flush: bool,
}

impl Control {
    /// Asks for the socket to close with `code` after the frames already queued. Returns
    /// whether this call decided it (a socket closes once, with the first reason given).
    pub fn close(&self, code: u16, reason: impl Into<Cow<'static, str>>) -> bool {
        self.decide(code, reason.into(), true)
    }

    /// Closes at once, dropping the queue (slow consumers).
    pub fn abort(&self, code: u16, reason: impl Into<Cow<'static, str>>) -> bool {
        self.decide(code, reason.into(), false)
    }

    fn decide(&self, code: u16, reason: Cow<'static, str>, flush: bool) -> bool {
        let decided = self
            .close
            .set(Closing {
                code,
                reason,
                flush,
            })
            .is_ok();
        self.body_waker.wake();
        self.task.notify_one();
        decided
    }

    pub fn closing(&self) -> Option<(u16, &str)> {
        self.close.get().map(|c| (c.code, c.reason.as_ref()))
    }

    /// The socket is finished: closing, or its connection already dropped.
    pub fn is_done(&self) -> bool {
        self.close.get().is_some() || self.body_gone.load(Ordering::Relaxed)
    }

    /// Resolves when something changed (close requested or body dropped).
    pub async fn changed(&self) {
        self.task.notified().await
    }
}

/// The response body of a WebSocket: frames from the queue, then a close frame.
pub struct OutBody {
    rx: mpsc::Receiver<Out>,
    control: Arc<Control>,
    simple: bool,
    backlog: VecDeque<Out>,
    done: bool,
}

impl OutBody {
    pub fn new(rx: mpsc::Receiver<Out>, control: Arc<Control>, simple: bool) -> Self {
        Self {
            rx,
            control,
            simple,
            backlog: VecDeque::new(),
            done: false,
        }
    }
}

impl Stream for OutBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        // Register before looking at the close flag, so a close decided in between wakes us.
        this.control.body_waker.register(cx.waker());
        let closing = this.control.close.get();
        if let Some(c) = closing {
            if !c.flush {
                // A slow consumer: what is queued is dropped (it resumes from its last offset).
                this.done = true;
                this.rx.close();
                this.backlog.clear();
                return Poll::Ready(Some(Ok(protocol::close_frame(c.code, &c.reason))));
            }
            // Accept nothing new; what is queued goes out first, then the close frame.
            this.rx.close();
        }
        loop {
            let next = match this.backlog.pop_front() {
                Some(out) => out,
                None => match this.rx.poll_recv(cx) {
                    Poll::Ready(Some(out)) => out,
                    Poll::Ready(None) => {
                        this.done = true;
                        let (code, reason) = closing
                            .map(|c| (c.code, c.reason.as_ref()))
                            .unwrap_or((close::NORMAL, ""));
                        return Poll::Ready(Some(Ok(protocol::close_frame(code, reason))));
                    }
                    Poll::Pending => return Poll::Pending,
                },
            };
            match next {
                Out::Frame(bytes) => return Poll::Ready(Some(Ok(bytes))),
                Out::Event(event) => {
                    let bytes = if this.simple {
                        event.simple().cloned()
                    } else {
                        Some(event.full().clone())
                    };
                    if let Some(bytes) = bytes {
                        return Poll::Ready(Some(Ok(bytes)));
                    }
                }
                // Only reached with an empty backlog (the backlog is drained first), so
                // appending keeps the order.
                Out::Batch(items) => this.backlog.extend(items),
            }
        }
    }
}

impl Drop for OutBody {
    fn drop(&mut self) {
        // The connection is gone (client disconnected, or the server dropped it): the
        // connection task must not wait for a request payload that may never end.
        self.control.body_gone.store(true, Ordering::Relaxed);
        self.control.task.notify_one();
    }
}

/// A client frame, reassembled.
#[derive(Debug)]
pub enum Inbound {
    Text(Bytes),
    Binary(usize),
    Ping(Bytes),
    Pong,
    Close(Option<CloseReason>),
}

#[derive(Debug)]
pub enum ReadError {
    /// A frame (or reassembled message) over the hard limit.
    TooBig,
    /// A protocol violation (bad opcode, unmasked frame, …).
    Protocol(String),
}

/// Decodes client frames from the request payload.
pub struct FrameReader {
    payload: web::Payload,
    codec: Codec,
    buf: BytesMut,
    hard_max: usize,
    /// A fragmented message being reassembled: (is_text, data).
    partial: Option<(bool, BytesMut)>,
}

impl FrameReader {
    pub fn new(payload: web::Payload, hard_max: usize) -> Self {
        Self {
            payload,
            codec: Codec::new().max_size(hard_max),
            buf: BytesMut::new(),
            hard_max,
            partial: None,
        }
    }

    /// The next frame; `None` when the client is gone. Cancel-safe: bytes are kept in `buf`
    /// between calls.
    pub async fn next(&mut self) -> Option<Result<Inbound, ReadError>> {
        loop {
            match self.codec.decode(&mut self.buf) {
                Ok(Some(frame)) => {
                    if self.buf.is_empty() {
                        // Let an idle socket hold no read buffer (a large frame grew it).
                        self.buf = BytesMut::new();
                    }
                    match self.assemble(frame) {
                        Ok(Some(inbound)) => return Some(Ok(inbound)),
                        Ok(None) => continue,
                        Err(e) => return Some(Err(e)),
                    }
                }
                Ok(None) => {}
                Err(ProtocolError::Overflow) => return Some(Err(ReadError::TooBig)),
                Err(e) => return Some(Err(ReadError::Protocol(e.to_string()))),
            }
            match self.payload.next().await {
                Some(Ok(bytes)) => self.buf.extend_from_slice(&bytes),
                Some(Err(_)) | None => return None,
            }
        }
    }

    fn assemble(&mut self, frame: Frame) -> Result<Option<Inbound>, ReadError> {
        Ok(Some(match frame {
            Frame::Text(b) => Inbound::Text(b),
            Frame::Binary(b) => Inbound::Binary(b.len()),
            Frame::Ping(b) => Inbound::Ping(b),
            Frame::Pong(_) => Inbound::Pong,
            Frame::Close(r) => Inbound::Close(r),
            Frame::Continuation(item) => {
                let (first, data, last) = match item {
                    Item::FirstText(b) => (Some(true), b, false),
                    Item::FirstBinary(b) => (Some(false), b, false),
                    Item::Continue(b) => (None, b, false),
                    Item::Last(b) => (None, b, true),
                };
                match (first, self.partial.as_mut()) {
                    (Some(is_text), None) => {
                        self.partial = Some((is_text, BytesMut::from(&data[..])));
                    }
                    (None, Some((_, buf))) => {
                        if buf.len() + data.len() > self.hard_max {
                            return Err(ReadError::TooBig);
                        }
                        buf.extend_from_slice(&data);
                    }
                    _ => {
                        return Err(ReadError::Protocol(
                            "unexpected continuation frame".to_owned(),
                        ))
                    }
                }
                if !last {
                    return Ok(None);
                }
                match self.partial.take() {
                    Some((true, buf)) => Inbound::Text(buf.freeze()),
                    Some((false, buf)) => Inbound::Binary(buf.len()),
                    None => return Ok(None),
                }
            }
        }))
    }
}
