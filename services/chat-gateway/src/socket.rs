//! One WebSocket's plumbing, on the bare TCP stream the HTTP server hands over after the `101`
//! (`platform::upgrade`), so that its memory and its queue are ours to size:
//!
//! - [`Out`] items go into ONE bounded queue per socket. The router, the connection task and
//!   spawned operations all `try_send` into it; a full queue means the client is not reading,
//!   and the socket is closed (1013) rather than anyone waiting for it: its queue is dropped,
//!   it leaves the hub at once, and the close frame follows the write in flight when the client
//!   reads again (or the connection is dropped when that write stalls for the idle timeout).
//! - [`OutQueue`] pops the queue and hands out frames that were encoded once, for every
//!   subscriber, as shared `Bytes` (no per-socket encoding); [`write_frames`] writes them,
//!   several per system call when they queue up.
//! - [`Control`] carries the close decision (first one wins) to the writer and to the connection
//!   task, whichever is waiting, also when the queue is full.
//! - [`FrameReader`] decodes client frames with a size limit and reassembles fragments.
//!
//! An idle socket holds no buffer: the read buffer is allocated when bytes arrive and released
//! when they are decoded, and the writer's batch buffer only exists while it writes.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::ws::{CloseReason, Codec, Frame, Item, ProtocolError};
use bytes::{Bytes, BytesMut};
use futures_util::task::{noop_waker_ref, AtomicWaker};
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};
use tokio_util::codec::Decoder;

use crate::protocol::{self, close, EventFrame};

/// Something to write to a socket. Kept to two words: the queue preallocates a block of 32
/// slots per socket, so every byte here costs 32 per idle connection. Events (the bulk of the
/// traffic) are a pointer already; other frames are boxed.
#[derive(Debug)]
pub enum Out {
    /// A complete, encoded frame.
    Frame(Box<Bytes>),
    /// A conversation event; the body picks the full or the simple rendering.
    Event(Arc<EventFrame>),
    /// Frames that must reach the socket back to back (subscribed + replay), in one queue slot
    /// so a long replay cannot overflow the queue.
    Batch(Box<Vec<Out>>),
}

const _: () = assert!(
    std::mem::size_of::<Out>() == 16,
    "a queue slot is two words"
);

impl Out {
    pub fn frame(bytes: Bytes) -> Self {
        Out::Frame(Box::new(bytes))
    }
}

/// How a socket is to be closed, and whether its response body is gone.
#[derive(Default)]
pub struct Control {
    close: OnceLock<Closing>,
    body_waker: AtomicWaker,
    task: Notify,
    /// The writer is finished (close frame written, or the peer is gone).
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

/// The outgoing side of a socket: frames from the queue, then a close frame, then the end.
pub struct OutQueue {
    rx: mpsc::Receiver<Out>,
    control: Arc<Control>,
    simple: bool,
    backlog: VecDeque<Out>,
    done: bool,
}

impl OutQueue {
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

impl OutQueue {
    /// The next frame if one is ready now, without waiting.
    fn ready_now(&mut self) -> Option<Bytes> {
        match Pin::new(self).poll_next(&mut Context::from_waker(noop_waker_ref())) {
            Poll::Ready(frame) => frame,
            Poll::Pending => None,
        }
    }
}

impl Stream for OutQueue {
    type Item = Bytes;

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
                return Poll::Ready(Some(protocol::close_frame(c.code, &c.reason)));
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
                        return Poll::Ready(Some(protocol::close_frame(code, reason)));
                    }
                    Poll::Pending => return Poll::Pending,
                },
            };
            match next {
                Out::Frame(bytes) => return Poll::Ready(Some(*bytes)),
                Out::Event(event) => {
                    let bytes = if this.simple {
                        event.simple().cloned()
                    } else {
                        Some(event.full().clone())
                    };
                    if let Some(bytes) = bytes {
                        return Poll::Ready(Some(bytes));
                    }
                }
                // Only reached with an empty backlog (the backlog is drained first), so
                // appending keeps the order.
                Out::Batch(items) => this.backlog.extend(*items),
            }
        }
    }
}

impl Drop for OutQueue {
    fn drop(&mut self) {
        // The writer is done (close frame written, or the client is gone): the connection task
        // must not wait for client frames that may never come.
        self.control.body_gone.store(true, Ordering::Relaxed);
        self.control.task.notify_one();
    }
}

/// Frames gathered into one write when several are queued (a burst of deltas, a replay).
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Writes the queue to the socket until the close frame is out, then shuts the write side
/// (FIN). A write that cannot progress for `write_timeout` (a peer that neither reads nor
/// disconnects) ends the socket.
pub async fn write_frames(mut io: WriteHalf<'_>, mut out: OutQueue, write_timeout: Duration) {
    while let Some(first) = out.next().await {
        let data = match out.ready_now() {
            None => first,
            Some(second) => {
                // A fresh buffer each time, dropped after the write: an idle socket keeps none.
                let mut batch = BytesMut::with_capacity(4096.max(first.len() + second.len()));
                batch.extend_from_slice(&first);
                batch.extend_from_slice(&second);
                while batch.len() < MAX_BATCH_BYTES {
                    match out.ready_now() {
                        Some(more) => batch.extend_from_slice(&more),
                        None => break,
                    }
                }
                batch.freeze()
            }
        };
        match tokio::time::timeout(write_timeout, io.write_all(&data)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
    let _ = io.shutdown().await;
}

/// After the close frame: read (and discard) until the client closes its side, for a short
/// while, so the TCP close is orderly (closing with unread input would reset the connection
/// and could destroy the close frame before the client reads it).
pub async fn linger(io: &mut TcpStream) {
    let mut scratch = [0u8; 256];
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(1..) = io.read(&mut scratch).await {}
    })
    .await;
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

/// Bytes asked of the kernel per read (on the stack; see `fill`).
const READ_CHUNK: usize = 4096;

/// Decodes client frames from the socket.
pub struct FrameReader<'a> {
    io: ReadHalf<'a>,
    codec: Codec,
    buf: BytesMut,
    hard_max: usize,
    /// A fragmented message being reassembled: (is_text, data).
    partial: Option<(bool, BytesMut)>,
}

impl<'a> FrameReader<'a> {
    /// `early` holds what the client sent already (read along with its request head); it is
    /// copied, so the HTTP server's read buffer it lives in is freed.
    pub fn new(io: ReadHalf<'a>, early: BytesMut, hard_max: usize) -> Self {
        Self {
            io,
            codec: Codec::new().max_size(hard_max),
            buf: BytesMut::from(&early[..]),
            hard_max,
            partial: None,
        }
    }

    /// The next frame; `None` when the client is gone. Cancel-safe: bytes are kept in `buf`
    /// between calls.
    pub async fn next(&mut self) -> Option<Result<Inbound, ReadError>> {
        loop {
            match self.codec.decode(&mut self.buf) {
                Ok(Some(frame)) => match self.assemble(frame) {
                    Ok(Some(inbound)) => return Some(Ok(inbound)),
                    Ok(None) => continue,
                    Err(e) => return Some(Err(e)),
                },
                Ok(None) => {}
                Err(ProtocolError::Overflow) => return Some(Err(ReadError::TooBig)),
                Err(e) => return Some(Err(ReadError::Protocol(e.to_string()))),
            }
            if self.buf.is_empty() {
                // An idle socket holds no read buffer (the frames decoded share it until
                // they are dropped).
                self.buf = BytesMut::new();
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Reads what the kernel has; `false` when the client is gone. The bytes land on the stack
    /// first and are copied into `buf` only when there are some: readiness can be stale, and a
    /// buffer reserved for a read that would block would stay with the socket while it waits.
    async fn fill(&mut self) -> bool {
        loop {
            if self.io.readable().await.is_err() {
                return false;
            }
            let mut chunk = [0u8; READ_CHUNK];
            match self.io.try_read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return false,
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
