//! One WebSocket's plumbing, on the bare TCP stream the HTTP server hands over after the `101`
//! (`platform::upgrade`), so that its memory and its queue are ours to size:
//!
//! - [`Out`] items go into ONE bounded queue per socket, kept in its [`Control`]. The router,
//!   the connection task and spawned operations all push without waiting; a full queue means
//!   the client is not reading, and the socket is closed (1013) rather than anyone waiting for
//!   it: its queue is dropped, it leaves the hub at once, and the close frame follows the write
//!   in flight when the client reads again (or the connection is dropped when that write stalls
//!   for the idle timeout).
//! - [`OutQueue`] pops the queue and hands out frames that were encoded once, for every
//!   subscriber, as shared `Bytes` (no per-socket encoding); [`write_frames`] writes them,
//!   several per system call when they queue up.
//! - [`Control`] also carries the close decision (first one wins) to the writer and to the
//!   connection task, whichever is waiting, also when the queue is full.
//! - [`FrameReader`] decodes client frames with a size limit, checked on each frame's header
//!   (a frame announcing more is refused before any of its payload is read), and reassembles
//!   fragments.
//!
//! An idle socket holds no buffer: the read buffer is allocated when bytes arrive and released
//! when they are decoded, the writer's batch buffer only exists while it writes, and the queue's
//! storage is released when it runs empty after a burst. (A tokio `mpsc` channel, used before,
//! kept a channel header and a 32-slot block, ~1.3 KB, for every idle socket.)

use std::borrow::Cow;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_http::ws::{CloseReason, Codec, Frame, Item, ProtocolError};
use bytes::{Bytes, BytesMut};
use futures_util::task::{noop_waker_ref, AtomicWaker};
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::codec::Decoder;

use crate::protocol::{self, EventFrame};

/// Something to write to a socket. Kept to two words, so a queue that grows in a burst stays
/// small. Events (the bulk of the traffic) are a pointer already; other frames are boxed.
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

/// A socket's shared state: its outgoing queue, how it is to be closed, and whether its writer
/// is gone. Everyone who writes to the socket holds an `Arc` of it.
pub struct Control {
    queue: Mutex<Queue>,
    capacity: usize,
    /// The longest the queue's head may wait for the writer (see [`Queue::head_since`]).
    max_age: Duration,
    close: OnceLock<Closing>,
    /// The writer waits here for frames and for the close decision.
    body_waker: AtomicWaker,
    task: Notify,
    /// The writer is finished (close frame written, or the peer is gone).
    body_gone: AtomicBool,
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Out>,
    /// Since when the frame at the head has been waiting, at least: its push time if it was
    /// pushed onto an empty queue, else the time the writer took the frame before it. A
    /// lower bound (per-frame timestamps would double a queue slot), so a socket is never
    /// called stale too early; the writer taking no frame for `max_age` while one waits is
    /// exactly a client that stopped reading.
    head_since: Option<Instant>,
    /// Closed: accepts nothing more (closing, or the writer is gone).
    closed: bool,
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The queue holds `capacity` frames: the client is not reading.
    Full,
    /// The oldest queued frame has waited `max_age`: the client is not reading.
    Stale,
    /// The socket is closing or gone.
    Closed,
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
    /// A socket whose queue holds at most `capacity` frames, none waiting longer than
    /// `max_age`.
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            queue: Mutex::default(),
            capacity: capacity.max(1),
            max_age,
            close: OnceLock::new(),
            body_waker: AtomicWaker::new(),
            task: Notify::new(),
            body_gone: AtomicBool::new(false),
        }
    }

    /// Queues `out` without waiting.
    pub fn push(&self, out: Out) -> Result<(), PushError> {
        let was_empty = {
            let mut q = self.lock_queue();
            if q.closed {
                return Err(PushError::Closed);
            }
            if q.items.len() >= self.capacity {
                return Err(PushError::Full);
            }
            let was_empty = q.items.is_empty();
            let now = Instant::now();
            if was_empty {
                q.head_since = Some(now);
            } else if q
                .head_since
                .is_some_and(|since| now.saturating_duration_since(since) >= self.max_age)
            {
                return Err(PushError::Stale);
            }
            q.items.push_back(out);
            was_empty
        };
        // The writer sleeps only after finding the queue empty (with its waker registered), so
        // only the push that ends the emptiness has to wake it.
        if was_empty {
            self.body_waker.wake();
        }
        Ok(())
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Nothing panics while holding the lock; a poisoned queue is still consistent.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Accepts nothing more; with `drop_queued`, what is queued is dropped too.
    fn close_queue(&self, drop_queued: bool) {
        let mut q = self.lock_queue();
        q.closed = true;
        if drop_queued {
            q.items = VecDeque::new();
        }
    }

    /// The next queued frame, if any. A drained queue releases its storage: an idle socket
    /// keeps none (re-allocating it for the next frames costs less than a socket's share).
    fn pop(&self) -> Option<Out> {
        let mut q = self.lock_queue();
        let out = q.items.pop_front();
        if q.items.is_empty() {
            q.head_since = None;
            if q.items.capacity() > 0 {
                q.items = VecDeque::new();
            }
        } else if out.is_some() {
            q.head_since = Some(Instant::now());
        }
        out
    }

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
    control: Arc<Control>,
    simple: bool,
    backlog: VecDeque<Out>,
    done: bool,
}

impl OutQueue {
    pub fn new(control: Arc<Control>, simple: bool) -> Self {
        Self {
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
                this.control.close_queue(true);
                this.backlog = VecDeque::new();
                return Poll::Ready(Some(protocol::close_frame(c.code, &c.reason)));
            }
            // Accept nothing new; what is queued goes out first, then the close frame.
            this.control.close_queue(false);
        }
        loop {
            let next = match this.backlog.pop_front() {
                Some(out) => out,
                None => match this.control.pop() {
                    Some(out) => out,
                    // Drained after the close decision: the close frame is last.
                    None => match closing {
                        Some(c) => {
                            this.done = true;
                            return Poll::Ready(Some(protocol::close_frame(c.code, &c.reason)));
                        }
                        None => return Poll::Pending,
                    },
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

impl OutQueue {
    /// The writer is done (close frame written, or the client is gone): nothing more is queued,
    /// and the connection task must not wait for client frames that may never come.
    fn finish(&mut self) {
        if self.control.body_gone.swap(true, Ordering::Relaxed) {
            return;
        }
        self.control.close_queue(true);
        self.control.task.notify_one();
    }
}

impl Drop for OutQueue {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Frames gathered into one write when several are queued (a burst of deltas, a replay).
const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Writes the queue to the socket until the close frame is out, then shuts the write side
/// (FIN). A write that cannot progress for `write_timeout` (a peer that neither reads nor
/// disconnects) ends the socket. Either way the queue is finished on return, which tells the
/// connection task.
pub async fn write_frames(mut io: WriteHalf<'_>, out: &mut OutQueue, write_timeout: Duration) {
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
        // Boxed: the write and its timer exist only while a write is under way, and an idle
        // socket should not carry their size.
        match Box::pin(tokio::time::timeout(write_timeout, io.write_all(&data))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => {
                out.finish();
                return;
            }
        }
    }
    let _ = io.shutdown().await;
    out.finish();
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
            // The codec checks its size limit only once the whole frame is buffered, so a
            // header announcing 2^62 bytes would have us buffer whatever the client streams.
            // Refuse on the header instead, before any of the payload is read.
            if self.announces_too_much() {
                return Some(Err(ReadError::TooBig));
            }
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

    /// Whether the frame header at the start of the buffer announces more than may be buffered:
    /// the hard limit, less what a fragmented message already holds for a continuation frame.
    fn announces_too_much(&self) -> bool {
        let Some(announced) = announced_len(&self.buf) else {
            return false;
        };
        let held = match self.partial.as_ref() {
            Some((_, data)) if self.buf.first().is_some_and(|b| b & 0x0F == 0) => data.len(),
            _ => 0,
        };
        announced > self.hard_max.saturating_sub(held) as u64
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

/// The payload length announced by the frame header at the start of `buf`, once its length
/// field has arrived (RFC 6455 §5.2: 7 bits, or 126 + 16 bits, or 127 + 64 bits).
fn announced_len(buf: &[u8]) -> Option<u64> {
    let len7 = buf.get(1)? & 0x7F;
    match len7 {
        126 => buf
            .get(2..4)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(|b| u64::from(u16::from_be_bytes(b))),
        127 => buf
            .get(2..10)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes),
        n => Some(u64::from(n)),
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn text(s: &'static str) -> Out {
        Out::frame(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn the_announced_length_is_read_from_each_header_form_once_it_has_arrived() {
        assert_eq!(announced_len(&[0x81]), None);
        assert_eq!(announced_len(&[0x81, 0x80 | 125]), Some(125));
        assert_eq!(announced_len(&[0x81, 0x80 | 126, 0x01]), None);
        assert_eq!(announced_len(&[0x81, 0x80 | 126, 0x01, 0x02]), Some(0x0102));
        let mut long = vec![0x81, 0x80 | 127];
        long.extend_from_slice(&(1u64 << 62).to_be_bytes()[..7]);
        assert_eq!(announced_len(&long), None);
        long.push(0);
        assert_eq!(announced_len(&long), Some(1 << 62));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_and_the_frames_come_out_in_order() {
        let control = Arc::new(Control::new(2, Duration::from_secs(60)));
        let mut out = OutQueue::new(control.clone(), false);
        assert_eq!(control.push(text("a")), Ok(()));
        assert_eq!(control.push(text("b")), Ok(()));
        assert_eq!(control.push(text("c")), Err(PushError::Full));
        assert_eq!(out.next().await.as_deref(), Some(&b"a"[..]));
        assert_eq!(out.next().await.as_deref(), Some(&b"b"[..]));
        // Drained: room again, and the storage of the burst is gone.
        assert_eq!(control.lock_queue().items.capacity(), 0);
        assert_eq!(control.push(text("d")), Ok(()));
        assert_eq!(out.next().await.as_deref(), Some(&b"d"[..]));
    }

    #[tokio::test]
    async fn a_queue_whose_head_waited_max_age_refuses_until_the_writer_takes_a_frame() {
        let control = Arc::new(Control::new(100, Duration::from_millis(200)));
        let mut out = OutQueue::new(control.clone(), false);
        assert_eq!(control.push(text("a")), Ok(()));
        assert_eq!(control.push(text("b")), Ok(()));
        tokio::time::sleep(Duration::from_millis(250)).await;
        // Far from full, but nothing was taken for longer than max_age.
        assert_eq!(control.push(text("c")), Err(PushError::Stale));
        // A writer that takes a frame restarts the clock for the next one.
        assert_eq!(out.next().await.as_deref(), Some(&b"a"[..]));
        assert_eq!(control.push(text("c")), Ok(()));
        assert_eq!(out.next().await.as_deref(), Some(&b"b"[..]));
        assert_eq!(out.next().await.as_deref(), Some(&b"c"[..]));
        // An empty queue is never stale, however long it stayed empty.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(control.push(text("d")), Ok(()));
        assert_eq!(control.push(text("e")), Ok(()));
    }

    #[tokio::test]
    async fn the_writer_wakes_for_a_frame_pushed_while_it_waits() {
        let control = Arc::new(Control::new(4, Duration::from_secs(60)));
        let mut out = OutQueue::new(control.clone(), false);
        // In its own task, so only a wake-up (not the timeout's own polling) can finish it.
        let writer = tokio::spawn(async move { out.next().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        control.push(text("late")).unwrap();
        let frame = tokio::time::timeout(Duration::from_secs(2), writer)
            .await
            .expect("the push woke the writer")
            .unwrap();
        assert_eq!(frame.as_deref(), Some(&b"late"[..]));
    }

    #[tokio::test]
    async fn close_flushes_the_queue_first_and_then_refuses() {
        let control = Arc::new(Control::new(4, Duration::from_secs(60)));
        let mut out = OutQueue::new(control.clone(), false);
        control.push(text("last words")).unwrap();
        assert!(control.close(4000, "bye"));
        assert_eq!(out.next().await.as_deref(), Some(&b"last words"[..]));
        assert_eq!(control.push(text("too late")), Err(PushError::Closed));
        let close = out.next().await.unwrap();
        assert_eq!(close, protocol::close_frame(4000, "bye"));
        assert!(out.next().await.is_none());
    }

    #[tokio::test]
    async fn abort_drops_what_is_queued() {
        let control = Arc::new(Control::new(4, Duration::from_secs(60)));
        let mut out = OutQueue::new(control.clone(), false);
        control.push(text("never read")).unwrap();
        assert!(control.abort(1013, "slow consumer, resume"));
        assert_eq!(
            out.next().await.unwrap(),
            protocol::close_frame(1013, "slow consumer, resume")
        );
        assert!(out.next().await.is_none());
        assert!(control.lock_queue().items.is_empty());
        assert_eq!(control.push(text("x")), Err(PushError::Closed));
    }

    #[tokio::test]
    async fn a_dropped_writer_refuses_pushes_and_tells_the_connection() {
        let control = Arc::new(Control::new(4, Duration::from_secs(60)));
        drop(OutQueue::new(control.clone(), false));
        assert_eq!(control.push(text("x")), Err(PushError::Closed));
        assert!(control.is_done());
    }
}
