//! Fan-out: ONE dedicated pub/sub connection per process, multiplexing every conversation and
//! user channel that has local subscribers (STYLE: never a Redis subscriber per socket).
//!
//! A background task owns the connection. It forwards messages in arrival order (Redis
//! publishes a conversation's events in offset order), pings to notice a dead peer, and after
//! losing the connection reconnects with backoff, re-subscribes every channel and then emits
//! `Reconnected`, so the caller re-reads the logs for the gap. Messages may have been missed
//! only in that window, which is exactly what the event log is for.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use domain::{ConversationId, UserId};
use futures_util::{Stream, StreamExt};
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::mpsc;

use crate::error::BusError;
use crate::keys::{Channel, Keys};
use crate::log::{decode_envelope, LogEntry};
use crate::Bus;

/// What the fan-out subscriber delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriberEvent {
    /// An event on a subscribed conversation's log.
    Entry(LogEntry),
    /// An event on a subscribed user channel; `payload` is the `UserEvent` JSON.
    User { user_id: UserId, payload: String },
    /// The connection was lost and is back, with every channel subscribed again. Events
    /// published meanwhile were not delivered: re-read each conversation's log from the last
    /// offset forwarded.
    Reconnected,
}

/// A job id whose generation should stop, or a note that notifications may have been missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelSignal {
    Cancel(String),
    /// The connection was lost and is back: check [`Bus::is_cancelled`] for running jobs.
    Reconnected,
}

/// Events buffered between the connection task and the consumer. When full, the task waits
/// (the consumer is expected to route each event into per-socket queues with `try_send`).
const EVENT_BUFFER: usize = 4096;
const PING_EVERY: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Turns one pub/sub message into an event, or `None` to drop it.
type Decoder<E> = fn(&Keys, &str, &[u8]) -> Option<E>;

struct Shared {
    keys: Keys,
    /// The channels the caller wants. Consulted for every message so nothing is delivered for a
    /// channel after `unsubscribe` returned, and snapshotted on reconnect.
    wanted: Mutex<HashSet<String>>,
    /// The sink of the live connection (None while disconnected). The async lock is held across
    /// each (un)subscribe round trip, so commands reach Redis in the order they were made and the
    /// server's state always matches `wanted` once the lock is free.
    sink: tokio::sync::Mutex<Option<PubSubSink>>,
    connected: AtomicBool,
    command_timeout: Duration,
}

impl Shared {
    fn wanted(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A panic elsewhere while holding the lock leaves a plain set behind: keep using it.
        self.wanted.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn change(&self, channel: String, subscribe: bool) -> Result<(), BusError> {
        let mut sink = self.sink.lock().await;
        let changed = if subscribe {
            self.wanted().insert(channel.clone())
        } else {
            self.wanted().remove(&channel)
        };
        if !changed {
            return Ok(());
        }
        let Some(sink) = sink.as_mut() else {
            // Disconnected: the reconnect subscribes everything in `wanted` and then says
            // `Reconnected`, so recording the wish is enough.
            return Ok(());
        };
        let op = async {
            if subscribe {
                sink.subscribe(&channel).await
            } else {
                sink.unsubscribe(&channel).await
            }
        };
        match tokio::time::timeout(self.command_timeout, op).await {
            Ok(Ok(())) => Ok(()),
            // The connection is going away; the task notices, reconnects and re-subscribes from
            // `wanted` (which already holds this change), then emits `Reconnected`.
            Ok(Err(e)) => {
                tracing::debug!(error = %e, %channel, "pub/sub command failed; reconnect will apply it");
                Ok(())
            }
            Err(_) => {
                tracing::debug!(%channel, "pub/sub command timed out; reconnect will apply it");
                Ok(())
            }
        }
    }
}

/// Cheap, cloneable handle to change the subscriptions of a [`Subscriber`].
#[derive(Clone)]
pub struct SubscriberHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SubscriberHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriberHandle")
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl SubscriberHandle {
    /// Subscribes the conversation's channel (idempotent). Returns once Redis confirmed it, so
    /// every event published afterwards is delivered. While Redis is unreachable it returns
    /// `Ok` at once; the channel is subscribed on reconnect, followed by `Reconnected`.
    pub async fn subscribe(&self, conversation_id: ConversationId) -> Result<(), BusError> {
        let ch = self.shared.keys.conv_channel(conversation_id);
        self.shared.change(ch, true).await
    }

    /// Unsubscribes (idempotent). Nothing more is delivered for it once this returns.
    pub async fn unsubscribe(&self, conversation_id: ConversationId) -> Result<(), BusError> {
        let ch = self.shared.keys.conv_channel(conversation_id);
        self.shared.change(ch, false).await
    }

    pub async fn subscribe_user(&self, user_id: UserId) -> Result<(), BusError> {
        let ch = self.shared.keys.user_channel(user_id);
        self.shared.change(ch, true).await
    }

    pub async fn unsubscribe_user(&self, user_id: UserId) -> Result<(), BusError> {
        let ch = self.shared.keys.user_channel(user_id);
        self.shared.change(ch, false).await
    }

    /// Whether the pub/sub connection is up right now (for readiness and metrics).
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Relaxed)
    }

    /// How many channels are subscribed.
    pub fn channel_count(&self) -> usize {
        self.shared.wanted().len()
    }
}

/// The process's fan-out subscriber: subscription methods plus the single event stream. Split
/// it with [`Subscriber::into_parts`] to route events in one task and subscribe from others.
/// Dropping the event side stops the connection task.
pub struct Subscriber {
    handle: SubscriberHandle,
    events: SubscriberEvents,
}

/// The receiving half of a [`Subscriber`].
pub struct SubscriberEvents {
    rx: mpsc::Receiver<SubscriberEvent>,
}

impl SubscriberEvents {
    /// The next event; `None` only if the connection task ended (it does not, while this is
    /// alive, short of a panic).
    pub async fn recv(&mut self) -> Option<SubscriberEvent> {
        self.rx.recv().await
    }
}

impl Stream for SubscriberEvents {
    type Item = SubscriberEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Subscriber {
    pub fn handle(&self) -> SubscriberHandle {
        self.handle.clone()
    }

    pub fn into_parts(self) -> (SubscriberHandle, SubscriberEvents) {
        (self.handle, self.events)
    }

    pub async fn recv(&mut self) -> Option<SubscriberEvent> {
        self.events.recv().await
    }

    pub async fn subscribe(&self, conversation_id: ConversationId) -> Result<(), BusError> {
        self.handle.subscribe(conversation_id).await
    }

    pub async fn unsubscribe(&self, conversation_id: ConversationId) -> Result<(), BusError> {
        self.handle.unsubscribe(conversation_id).await
    }

    pub async fn subscribe_user(&self, user_id: UserId) -> Result<(), BusError> {
        self.handle.subscribe_user(user_id).await
    }

    pub async fn unsubscribe_user(&self, user_id: UserId) -> Result<(), BusError> {
        self.handle.unsubscribe_user(user_id).await
    }

    pub fn is_connected(&self) -> bool {
        self.handle.is_connected()
    }
}

impl Stream for Subscriber {
    type Item = SubscriberEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.events).poll_next(cx)
    }
}

/// Receives cancellation requests for in-flight generations (one dedicated connection).
pub struct CancelListener {
    rx: mpsc::Receiver<CancelSignal>,
    _handle: SubscriberHandle,
}

impl CancelListener {
    pub async fn recv(&mut self) -> Option<CancelSignal> {
        self.rx.recv().await
    }
}

impl Stream for CancelListener {
    type Item = CancelSignal;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

fn decode_subscriber_event(keys: &Keys, channel: &str, payload: &[u8]) -> Option<SubscriberEvent> {
    match keys.parse_channel(channel)? {
        Channel::Conversation(id) => match decode_envelope(id, payload) {
            Ok(entry) => Some(SubscriberEvent::Entry(entry)),
            Err(e) => {
                tracing::warn!(error = %e, %channel, "dropping undecodable event envelope");
                None
            }
        },
        Channel::User(user_id) => match std::str::from_utf8(payload) {
            Ok(p) => Some(SubscriberEvent::User {
                user_id,
                payload: p.to_owned(),
            }),
            Err(_) => None,
        },
        Channel::Cancel => None,
    }
}

fn decode_cancel(keys: &Keys, channel: &str, payload: &[u8]) -> Option<CancelSignal> {
    match keys.parse_channel(channel)? {
        Channel::Cancel => std::str::from_utf8(payload)
            .ok()
            .map(|id| CancelSignal::Cancel(id.to_owned())),
        _ => None,
    }
}

impl Bus {
    /// Starts the process's fan-out subscriber on a dedicated connection. If Redis is down it
    /// still returns; the task keeps trying and emits `Reconnected` once connected.
    pub async fn subscriber(&self) -> Result<Subscriber, BusError> {
        let (shared, rx) = self
            .spawn_pubsub(
                Vec::new(),
                decode_subscriber_event,
                SubscriberEvent::Reconnected,
            )
            .await?;
        Ok(Subscriber {
            handle: SubscriberHandle { shared },
            events: SubscriberEvents { rx },
        })
    }

    /// Starts listening for [`Bus::request_cancel`] notifications on a dedicated connection.
    pub async fn cancel_listener(&self) -> Result<CancelListener, BusError> {
        let channel = self.keys().cancel_channel();
        let (shared, rx) = self
            .spawn_pubsub(vec![channel], decode_cancel, CancelSignal::Reconnected)
            .await?;
        Ok(CancelListener {
            rx,
            _handle: SubscriberHandle { shared },
        })
    }

    async fn spawn_pubsub<E: Send + Sync + Clone + 'static>(
        &self,
        initial: Vec<String>,
        decode: Decoder<E>,
        reconnected: E,
    ) -> Result<(Arc<Shared>, mpsc::Receiver<E>), BusError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| BusError::Unavailable("no tokio runtime to run the subscriber".into()))?;
        let shared = Arc::new(Shared {
            keys: self.keys().clone(),
            wanted: Mutex::new(initial.into_iter().collect()),
            sink: tokio::sync::Mutex::new(None),
            connected: AtomicBool::new(false),
            command_timeout: self.config().command_timeout,
        });
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        // Connect once before returning so a caller that subscribes right away is live at once.
        // If that fails, the task retries; `Reconnected` then covers the gap.
        let first = match establish(self, &shared).await {
            Ok(stream) => Some(stream),
            Err(e) => {
                tracing::warn!(error = %e, "pub/sub connection failed; retrying in the background");
                None
            }
        };
        let task = PubSubTask {
            bus: self.clone(),
            shared: shared.clone(),
            tx,
            decode,
            reconnected,
        };
        runtime.spawn(task.run(first));
        Ok((shared, rx))
    }
}

/// Opens a connection, installs its sink and subscribes every wanted channel, all under the sink
/// lock so no (un)subscribe interleaves with the re-subscription.
async fn establish(bus: &Bus, shared: &Shared) -> Result<PubSubStream, BusError> {
    let (mut sink, stream) = bus.pubsub_connection().await?;
    let mut guard = shared.sink.lock().await;
    let channels: Vec<String> = shared.wanted().iter().cloned().collect();
    // Many channels at once, in bounded batches so one command stays a reasonable size.
    for batch in channels.chunks(1000) {
        tokio::time::timeout(shared.command_timeout, sink.subscribe(batch))
            .await
            .map_err(|_| BusError::timeout("re-subscribe"))??;
    }
    *guard = Some(sink);
    shared.connected.store(true, Ordering::Relaxed);
    Ok(stream)
}

struct PubSubTask<E> {
    bus: Bus,
    shared: Arc<Shared>,
    tx: mpsc::Sender<E>,
    decode: Decoder<E>,
    reconnected: E,
}

impl<E: Send + Sync + Clone + 'static> PubSubTask<E> {
    async fn run(self, first: Option<PubSubStream>) {
        let mut stream = first;
        loop {
            let current = match stream.take() {
                Some(s) => s,
                None => match self.reconnect().await {
                    Some(s) => s,
                    None => return,
                },
            };
            if !self.pump(current).await {
                // The receiver is gone; dropping the stream closes the connection.
                self.shared.connected.store(false, Ordering::Relaxed);
                return;
            }
            self.shared.connected.store(false, Ordering::Relaxed);
            *self.shared.sink.lock().await = None;
            tracing::warn!("pub/sub connection lost; reconnecting");
        }
    }

    /// Reconnects with capped exponential backoff, then announces `Reconnected`. `None` when the
    /// receiver is gone.
    async fn reconnect(&self) -> Option<PubSubStream> {
        let mut delay = BACKOFF_MIN;
        loop {
            if self.tx.is_closed() {
                return None;
            }
            match establish(&self.bus, &self.shared).await {
                Ok(stream) => {
                    tracing::info!(
                        channels = self.shared.wanted().len(),
                        "pub/sub connection re-established"
                    );
                    if self.tx.send(self.reconnected.clone()).await.is_err() {
                        return None;
                    }
                    return Some(stream);
                }
                Err(e) => {
                    tracing::debug!(error = %e, ?delay, "pub/sub reconnect failed");
                    tokio::select! {
                        _ = tokio::time::sleep(jitter(delay)) => {}
                        _ = self.tx.closed() => return None,
                    }
                    delay = (delay * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// Forwards messages until the connection is lost (`true`) or the receiver is gone
    /// (`false`).
    async fn pump(&self, mut stream: PubSubStream) -> bool {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        loop {
            tokio::select! {
                msg = stream.next() => {
                    let Some(msg) = msg else { return true };
                    let channel = msg.get_channel_name();
                    // Drop what arrives for a channel unsubscribed meanwhile.
                    if !self.shared.wanted().contains(channel) {
                        continue;
                    }
                    if let Some(event) = (self.decode)(&self.shared.keys, channel, msg.get_payload_bytes()) {
                        if self.tx.send(event).await.is_err() {
                            return false;
                        }
                    }
                }
                _ = ping.tick() => {
                    // A peer that vanished without closing the socket is only noticed by asking.
                    let sink = self.shared.sink.lock().await.clone();
                    let Some(mut sink) = sink else { return true };
                    let pong = tokio::time::timeout(self.shared.command_timeout, sink.ping::<redis::Value>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        return true;
                    }
                }
                _ = self.tx.closed() => return false,
            }
        }
    }
}

/// Spreads reconnect attempts of many processes after a Redis restart (±25%).
fn jitter(d: Duration) -> Duration {
    let r = uuid::Uuid::new_v4().as_u128() % 500;
    d.mul_f64(0.75 + r as f64 / 1000.0)
}
