//! In-process routing. ONE Redis pub/sub connection per replica (the bus subscriber) carries
//! every conversation with local subscribers; the router task takes each entry off it, encodes
//! it once, and pushes it (never waiting) into the queue of every subscribed socket. Nothing
//! here awaits a socket: a full queue closes that socket (1013), so one stalled client never
//! delays others.
//!
//! Redis channel subscriptions are reference-counted by local subscribers: the first socket to
//! subscribe a conversation subscribes its channel, the last to leave unsubscribes it. A
//! per-channel async lock orders those round trips, so a leave racing a join can never leave
//! the channel unsubscribed while a socket still wants it.
//!
//! Lossless resume (with `subscriptions.rs`): a subscription starts `Pending`, buffering live
//! entries, while the log is read; it turns `Live` together with the replay being queued,
//! under the hub lock, so no entry can slip between replay and live, and entries the replay
//! already covered are skipped. The router also keeps each conversation's last forwarded
//! (epoch, offset): after a Redis reconnect it re-reads every local conversation from there,
//! and a gap or an epoch change seen live is repaired from the log or announced to clients
//! (`subscribed` with `recovered: false`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bus::{Bus, BusError, LogEntry, SubscriberEvent, SubscriberEvents, SubscriberHandle};
use bytes::Bytes;
use domain::events::UserEvent;
use domain::frames::ServerFrame;
use domain::{ConversationId, UserId};
use futures_util::StreamExt;
use smallvec::SmallVec;

use crate::metrics::Metrics;
use crate::protocol::{self, close, EventFrame};
use crate::socket::{Control, Out, PushError};

pub type ConnId = u64;

/// Where a socket's frames go.
#[derive(Clone, Debug)]
pub struct SocketHandle {
    pub control: Arc<Control>,
}

impl SocketHandle {
    /// Queues `out` without waiting. A full queue means the client is not reading: the socket
    /// is closed with a code that tells it to resume. Returns whether it was queued.
    pub fn push(&self, out: Out, metrics: &Metrics) -> bool {
        match self.control.push(out) {
            Ok(()) => true,
            Err(PushError::Full) => {
                metrics.queue_drops.increment(1);
                if self
                    .control
                    .abort(close::TRY_AGAIN, "slow consumer, resume")
                {
                    metrics.slow_consumers.increment(1);
                }
                false
            }
            Err(PushError::Closed) => false,
        }
    }
}

/// A conversation log position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub epoch: Arc<str>,
    pub offset: u64,
}

/// Reads of a conversation's log after a bus reconnect before its subscribers are told to reload.
const REREAD_ATTEMPTS: u32 = 3;

/// Serialises subscribe/unsubscribe of one Redis channel; the flag says whether it is
/// subscribed.
type ChannelLock = Arc<tokio::sync::Mutex<bool>>;

enum SubState {
    /// Subscribing: live entries wait here until the replay is queued.
    Pending(Vec<Arc<EventFrame>>),
    /// Live; entries of `skip_epoch` up to `skip_through` were covered by the replay.
    Live {
        skip_epoch: Arc<str>,
        skip_through: u64,
    },
}

struct Sub {
    socket: SocketHandle,
    simple: bool,
    state: SubState,
    /// Users this subscriber blocked: their messages and typing are not delivered (filtered here,
    /// on fan-out, not only in clients). Loaded when the subscription starts.
    blocked: Option<Arc<Blocked>>,
}

/// The set of users someone blocked.
pub type Blocked = std::collections::HashSet<UserId>;

struct Conv {
    subs: HashMap<ConnId, Sub>,
    /// The last entry forwarded (or the position the first subscriber started from).
    position: Option<Position>,
    lock: ChannelLock,
}

struct ConnEntry {
    user: UserId,
    socket: SocketHandle,
    simple: bool,
    subs: ConvSet,
}

/// A connection's subscriptions. Most sockets hold one or two, so they are kept inline: a
/// small heap block per socket, allocated among a subscription's temporaries, would keep the
/// pages they used from being reused as a whole after they are freed.
#[derive(Default)]
struct ConvSet(SmallVec<[ConversationId; 2]>);

impl ConvSet {
    fn contains(&self, conversation: &ConversationId) -> bool {
        self.0.contains(conversation)
    }

    fn insert(&mut self, conversation: ConversationId) {
        if !self.contains(&conversation) {
            self.0.push(conversation);
        }
    }

    /// Whether it was there.
    fn remove(&mut self, conversation: &ConversationId) -> bool {
        let before = self.0.len();
        self.0.retain(|c| c != conversation);
        self.0.len() != before
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn iter(&self) -> impl Iterator<Item = &ConversationId> {
        self.0.iter()
    }
}

struct UserEntry {
    /// Inline for the same reason as [`ConvSet`]: a user rarely has more than two devices.
    conns: SmallVec<[ConnId; 2]>,
    lock: ChannelLock,
}

#[derive(Default)]
struct Inner {
    convs: HashMap<ConversationId, Conv>,
    conns: HashMap<ConnId, ConnEntry>,
    users: HashMap<UserId, UserEntry>,
}

/// Why a subscription could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeRefused {
    /// The connection holds `max_subscriptions` already.
    Limit,
    /// The connection is gone.
    Gone,
}

pub struct Hub {
    inner: Mutex<Inner>,
    subscriber: SubscriberHandle,
    bus: Bus,
    metrics: Metrics,
    max_subscriptions: usize,
    max_pending: usize,
    max_replay: usize,
}

/// The outcome of routing one entry synchronously.
enum Routed {
    Done,
    /// Entries between the last forwarded position and this entry are missing.
    Gap(Position),
}

impl Hub {
    pub fn new(
        subscriber: SubscriberHandle,
        bus: Bus,
        metrics: Metrics,
        cfg: &crate::config::GatewayConfig,
    ) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            subscriber,
            bus,
            metrics,
            max_subscriptions: cfg.max_subscriptions,
            max_pending: cfg.max_pending,
            max_replay: cfg.max_replay.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section leaves the maps consistent before anything can panic, so a
        // poisoned lock still guards valid data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    // ---- connections and users ------------------------------------------------------------

    /// Registers a socket and makes sure its user's channel (session revocation,
    /// notifications) is subscribed. Returns whether it is the user's first socket here.
    pub async fn attach(
        &self,
        conn: ConnId,
        user: UserId,
        socket: SocketHandle,
        simple: bool,
    ) -> Result<bool, BusError> {
        let (first, lock) = {
            let mut inner = self.lock();
            inner.conns.insert(
                conn,
                ConnEntry {
                    user,
                    socket,
                    simple,
                    subs: ConvSet::default(),
                },
            );
            let entry = inner.users.entry(user).or_insert_with(|| UserEntry {
                conns: SmallVec::new(),
                lock: ChannelLock::default(),
            });
            entry.conns.push(conn);
            (entry.conns.len() == 1, entry.lock.clone())
        };
        self.metrics.connections.increment(1.0);
        let mut subscribed = lock.lock().await;
        if !*subscribed {
            self.subscriber.subscribe_user(user).await?;
            *subscribed = true;
        }
        Ok(first)
    }

    /// Forgets a socket and its subscriptions, releasing channels nobody here needs any more.
    /// Returns whether it was the user's last socket here.
    pub async fn detach(&self, conn: ConnId) -> bool {
        let (emptied, user, last) = {
            let mut inner = self.lock();
            let Some(entry) = inner.conns.remove(&conn) else {
                return false;
            };
            let mut emptied = Vec::new();
            for conv_id in entry.subs.iter() {
                if let Some(conv) = inner.convs.get_mut(conv_id) {
                    conv.subs.remove(&conn);
                    if conv.subs.is_empty() {
                        emptied.push(*conv_id);
                    }
                }
            }
            self.metrics
                .subscriptions
                .decrement(entry.subs.len() as f64);
            let mut last = false;
            if let Some(u) = inner.users.get_mut(&entry.user) {
                u.conns.retain(|c| *c != conn);
                last = u.conns.is_empty();
            }
            (emptied, entry.user, last)
        };
        self.metrics.connections.decrement(1.0);
        for conv in emptied {
            self.release_conv(conv).await;
        }
        if last {
            self.release_user(user).await;
        }
        last
    }

    async fn release_user(&self, user: UserId) {
        let Some(lock) = self
            .lock()
            .users
            .get(&user)
            .filter(|u| u.conns.is_empty())
            .map(|u| u.lock.clone())
        else {
            return;
        };
        let mut subscribed = lock.lock().await;
        // Re-check under the channel lock: a socket of the same user may have arrived.
        let still_empty = self
            .lock()
            .users
            .get(&user)
            .is_some_and(|u| u.conns.is_empty() && Arc::ptr_eq(&u.lock, &lock));
        if !still_empty {
            return;
        }
        if *subscribed {
            if let Err(e) = self.subscriber.unsubscribe_user(user).await {
                tracing::debug!(error = %e, %user, "unsubscribe user channel failed");
            }
            *subscribed = false;
        }
        let mut inner = self.lock();
        if inner
            .users
            .get(&user)
            .is_some_and(|u| u.conns.is_empty() && Arc::ptr_eq(&u.lock, &lock))
        {
            inner.users.remove(&user);
        }
    }

    // ---- subscriptions --------------------------------------------------------------------

    /// Starts (or restarts) a subscription in the `Pending` state and returns the channel lock
    /// to pass to [`Hub::ensure_channel`].
    pub fn begin_subscribe(
        &self,
        conn: ConnId,
        conversation: ConversationId,
        blocked: Option<Arc<Blocked>>,
    ) -> Result<ChannelLockHandle, SubscribeRefused> {
        let mut inner = self.lock();
        let Inner { convs, conns, .. } = &mut *inner;
        let entry = conns.get_mut(&conn).ok_or(SubscribeRefused::Gone)?;
        if !entry.subs.contains(&conversation) {
            if entry.subs.len() >= self.max_subscriptions {
                return Err(SubscribeRefused::Limit);
            }
            entry.subs.insert(conversation);
            self.metrics.subscriptions.increment(1.0);
        }
        let conv = convs.entry(conversation).or_insert_with(|| Conv {
            subs: HashMap::new(),
            position: None,
            lock: ChannelLock::default(),
        });
        conv.subs.insert(
            conn,
            Sub {
                socket: entry.socket.clone(),
                simple: entry.simple,
                state: SubState::Pending(Vec::new()),
                blocked,
            },
        );
        Ok(ChannelLockHandle(conv.lock.clone()))
    }

    /// Subscribes the conversation's Redis channel unless it is already; returns once Redis
    /// confirmed, so every entry published afterwards reaches the router.
    pub async fn ensure_channel(
        &self,
        conversation: ConversationId,
        lock: &ChannelLockHandle,
    ) -> Result<(), BusError> {
        let mut subscribed = lock.0.lock().await;
        if !*subscribed {
            self.subscriber.subscribe(conversation).await?;
            *subscribed = true;
            self.metrics.channels.increment(1.0);
        }
        Ok(())
    }

    /// Turns a pending subscription live: queues `frames` (subscribed + replay) followed by the
    /// live entries buffered meanwhile that the replay did not cover, all under the hub lock so
    /// the router cannot interleave. `through` is the last offset the replay covered (the log's
    /// latest offset when it was read). Returns false if the subscription is gone.
    pub fn finish_subscribe(
        &self,
        conn: ConnId,
        conversation: ConversationId,
        epoch: Arc<str>,
        through: u64,
        mut frames: Vec<Out>,
    ) -> bool {
        let mut inner = self.lock();
        let Some(conv) = inner.convs.get_mut(&conversation) else {
            return false;
        };
        // Share the conversation's copy of the epoch: one string per conversation, not one per
        // subscription allocated among the subscription's temporaries.
        let epoch = match &conv.position {
            Some(p) if *p.epoch == *epoch => p.epoch.clone(),
            _ => epoch,
        };
        if conv.position.is_none() {
            conv.position = Some(Position {
                epoch: epoch.clone(),
                offset: through,
            });
        }
        let Some(sub) = conv.subs.get_mut(&conn) else {
            return false;
        };
        let pending = match std::mem::replace(
            &mut sub.state,
            SubState::Live {
                skip_epoch: epoch.clone(),
                skip_through: through,
            },
        ) {
            SubState::Pending(p) => p,
            SubState::Live { .. } => Vec::new(),
        };
        frames.extend(
            pending
                .into_iter()
                .filter(|f| *f.epoch != *epoch || f.offset > through)
                .map(Out::Event),
        );
        if frames.is_empty() {
            return true;
        }
        let queued = if frames.len() == 1 {
            frames
                .pop()
                .is_some_and(|f| sub.socket.push(f, &self.metrics))
        } else {
            sub.socket.push(Out::Batch(Box::new(frames)), &self.metrics)
        };
        queued || !sub.socket.control.is_done()
    }

    /// Ends a socket's subscription (idempotent) and releases the channel if it was the last.
    pub async fn unsubscribe(&self, conn: ConnId, conversation: ConversationId) {
        let emptied = {
            let mut inner = self.lock();
            let removed = inner
                .conns
                .get_mut(&conn)
                .is_some_and(|c| c.subs.remove(&conversation));
            if removed {
                self.metrics.subscriptions.decrement(1.0);
            }
            match inner.convs.get_mut(&conversation) {
                Some(conv) => {
                    conv.subs.remove(&conn);
                    conv.subs.is_empty()
                }
                None => false,
            }
        };
        if emptied {
            self.release_conv(conversation).await;
        }
    }

    /// Unsubscribes the channel of a conversation that has no local subscribers left.
    async fn release_conv(&self, conversation: ConversationId) {
        let Some(lock) = self
            .lock()
            .convs
            .get(&conversation)
            .filter(|c| c.subs.is_empty())
            .map(|c| c.lock.clone())
        else {
            return;
        };
        let mut subscribed = lock.lock().await;
        let still_empty = |inner: &Inner| {
            inner
                .convs
                .get(&conversation)
                .is_some_and(|c| c.subs.is_empty() && Arc::ptr_eq(&c.lock, &lock))
        };
        if !still_empty(&self.lock()) {
            // Someone subscribed meanwhile; they wait on this lock and find the channel as is.
            return;
        }
        if *subscribed {
            if let Err(e) = self.subscriber.unsubscribe(conversation).await {
                tracing::debug!(error = %e, %conversation, "unsubscribe failed");
            }
            *subscribed = false;
            self.metrics.channels.decrement(1.0);
        }
        let mut inner = self.lock();
        if still_empty(&inner) {
            inner.convs.remove(&conversation);
        }
    }

    // ---- routing --------------------------------------------------------------------------

    /// The router: the one consumer of the replica's bus subscription.
    pub async fn run_router(self: Arc<Self>, mut events: SubscriberEvents) {
        while let Some(event) = events.recv().await {
            match event {
                SubscriberEvent::Entry(entry) => self.route_entry(entry).await,
                SubscriberEvent::User { user_id, payload } => {
                    self.on_user_event(user_id, &payload).await
                }
                SubscriberEvent::Reconnected => self.reread_all().await,
            }
        }
    }

    /// Routes one entry; repairs a gap from the log first if one shows.
    pub async fn route_entry(&self, entry: LogEntry) {
        let Routed::Gap(from) = self.route_now(&entry) else {
            return;
        };
        let conversation = entry.conversation_id;
        tracing::info!(%conversation, from = from.offset, to = entry.offset, "gap in live events; reading the log");
        match self.read_all_since(conversation, &from).await {
            Ok(Some(entries)) => {
                for e in &entries {
                    self.route_now(e);
                }
                self.route_now(&entry);
            }
            Ok(None) => {}
            Err(e) => {
                // Without Redis the gap cannot be filled: tell clients to reload, then go on.
                tracing::warn!(error = %e, %conversation, "gap repair failed");
                self.resync(
                    conversation,
                    Position {
                        epoch: entry.epoch.as_str().into(),
                        offset: entry.offset.saturating_sub(1),
                    },
                );
                self.route_now(&entry);
            }
        }
    }

    /// Reads everything after `from`; `Ok(None)` when it cannot be recovered, in which case
    /// subscribers were told to reload (`recovered: false`).
    async fn read_all_since(
        &self,
        conversation: ConversationId,
        from: &Position,
    ) -> Result<Option<Vec<LogEntry>>, BusError> {
        let mut out = Vec::new();
        let mut after = from.offset;
        loop {
            let rec = self
                .bus
                .read_since(conversation, Some(&from.epoch), after, self.max_replay)
                .await?;
            if !rec.recovered {
                self.resync(
                    conversation,
                    Position {
                        epoch: rec.epoch.as_str().into(),
                        offset: rec.latest_offset,
                    },
                );
                return Ok(None);
            }
            let complete = rec.is_complete();
            if let Some(last) = rec.entries.last() {
                after = last.offset;
            }
            out.extend(rec.entries);
            if complete || out.len() >= 50 * self.max_replay {
                return Ok(Some(out));
            }
        }
    }

    fn route_now(&self, entry: &LogEntry) -> Routed {
        let mut inner = self.lock();
        let Some(conv) = inner.convs.get_mut(&entry.conversation_id) else {
            return Routed::Done;
        };
        if conv.subs.is_empty() {
            return Routed::Done;
        }
        let epoch = match &conv.position {
            Some(p) if *p.epoch == *entry.epoch => {
                if entry.offset <= p.offset {
                    return Routed::Done; // already forwarded (a re-read overlapping live)
                }
                if entry.offset > p.offset + 1 {
                    return Routed::Gap(p.clone());
                }
                p.epoch.clone()
            }
            Some(_) => {
                // The log was lost and started again: events of the old epoch may be missing.
                let epoch: Arc<str> = entry.epoch.as_str().into();
                resync_locked(
                    conv,
                    entry.conversation_id,
                    Position {
                        epoch: epoch.clone(),
                        offset: entry.offset.saturating_sub(1),
                    },
                    &self.metrics,
                );
                epoch
            }
            None => entry.epoch.as_str().into(),
        };
        conv.position = Some(Position {
            epoch: epoch.clone(),
            offset: entry.offset,
        });
        let frame = Arc::new(EventFrame::new(
            entry.conversation_id,
            epoch,
            entry.offset,
            &entry.payload,
        ));
        let mut delivered = 0u64;
        // The actor is decoded only if some subscriber blocks anyone, and then once.
        let mut actor: Option<Option<UserId>> = None;
        for sub in conv.subs.values_mut() {
            if sub.socket.control.is_done() {
                continue;
            }
            if let Some(blocked) = &sub.blocked {
                let who = *actor.get_or_insert_with(|| frame.actor());
                if who.is_some_and(|who| blocked.contains(&who)) {
                    continue;
                }
            }
            match &mut sub.state {
                SubState::Pending(buffer) => {
                    if buffer.len() < self.max_pending {
                        buffer.push(frame.clone());
                    } else if sub
                        .socket
                        .control
                        .abort(close::TRY_AGAIN, "slow consumer, resume")
                    {
                        self.metrics.slow_consumers.increment(1);
                    }
                }
                SubState::Live {
                    skip_epoch,
                    skip_through,
                } => {
                    if frame.offset <= *skip_through && **skip_epoch == *frame.epoch {
                        continue;
                    }
                    if sub.simple && frame.simple().is_none() {
                        continue;
                    }
                    if sub.socket.push(Out::Event(frame.clone()), &self.metrics) {
                        delivered += 1;
                    }
                }
            }
        }
        self.metrics.delivered.increment(delivered);
        Routed::Done
    }

    /// Tells every live subscriber of `conversation` that continuity broke at `at`.
    fn resync(&self, conversation: ConversationId, at: Position) {
        let mut inner = self.lock();
        if let Some(conv) = inner.convs.get_mut(&conversation) {
            resync_locked(conv, conversation, at, &self.metrics);
        }
    }

    /// After the bus subscriber reconnected: re-read every local conversation from the last
    /// forwarded offset, so events published while the connection was down are delivered.
    pub async fn reread_all(&self) {
        let targets: Vec<(ConversationId, Position)> = self
            .lock()
            .convs
            .iter()
            .filter(|(_, c)| !c.subs.is_empty())
            .filter_map(|(id, c)| c.position.clone().map(|p| (*id, p)))
            .collect();
        tracing::info!(
            conversations = targets.len(),
            "bus reconnected; re-reading logs"
        );
        self.metrics
            .reconnect_rereads
            .increment(targets.len() as u64);
        futures_util::stream::iter(targets)
            .for_each_concurrent(16, |(conversation, from)| async move {
                let mut backoff = std::time::Duration::from_millis(200);
                for attempt in 1..=REREAD_ATTEMPTS {
                    match self.read_all_since(conversation, &from).await {
                        Ok(Some(entries)) => {
                            for e in &entries {
                                self.route_now(e);
                            }
                            return;
                        }
                        Ok(None) => return,
                        Err(e) if attempt < REREAD_ATTEMPTS => {
                            tracing::debug!(error = %e, %conversation, attempt, "re-read failed; retrying");
                            tokio::time::sleep(backoff).await;
                            backoff *= 3;
                        }
                        Err(e) => {
                            // What was missed cannot be read now: say so rather than let the
                            // subscribers believe they are complete (they reload over REST).
                            tracing::warn!(error = %e, %conversation, "re-read after reconnect failed; telling subscribers to reload");
                            self.resync(conversation, from.clone());
                        }
                    }
                }
            })
            .await;
    }

    // ---- user channel ---------------------------------------------------------------------

    async fn on_user_event(&self, user: UserId, payload: &str) {
        let event: UserEvent = match serde_json::from_str(payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, %user, "undecodable user event");
                return;
            }
        };
        match event {
            UserEvent::SessionRevoked => {
                for socket in self.user_sockets(user, true) {
                    socket.control.close(close::UNAUTHORIZED, "session revoked");
                }
            }
            UserEvent::ConversationRemoved { conversation_id } => {
                // Membership is checked at subscribe; a member removed later must stop
                // receiving at once.
                let conns: Vec<(ConnId, SocketHandle, bool)> = {
                    let inner = self.lock();
                    inner
                        .users
                        .get(&user)
                        .map(|u| {
                            u.conns
                                .iter()
                                .filter_map(|c| inner.conns.get(c).map(|e| (*c, e)))
                                .filter(|(_, e)| e.subs.contains(&conversation_id))
                                .map(|(c, e)| (c, e.socket.clone(), e.simple))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                for (conn, socket, simple) in conns {
                    self.unsubscribe(conn, conversation_id).await;
                    if simple {
                        socket
                            .control
                            .close(close::POLICY, "removed from the conversation");
                    } else {
                        let frame = protocol::server_frame(&ServerFrame::Unsubscribed {
                            id: None,
                            conversation_id,
                        });
                        socket.push(Out::frame(frame), &self.metrics);
                    }
                }
                self.forward_notification(user, &event);
            }
            UserEvent::BlocksChanged { ref blocked } => {
                let set = (!blocked.is_empty())
                    .then(|| Arc::new(blocked.iter().copied().collect::<Blocked>()));
                {
                    let mut inner = self.lock();
                    let Inner {
                        convs,
                        conns,
                        users,
                    } = &mut *inner;
                    for conn in users
                        .get(&user)
                        .map(|u| u.conns.clone())
                        .unwrap_or_default()
                    {
                        let Some(entry) = conns.get(&conn) else {
                            continue;
                        };
                        for conversation in entry.subs.iter() {
                            if let Some(sub) = convs
                                .get_mut(conversation)
                                .and_then(|c| c.subs.get_mut(&conn))
                            {
                                sub.blocked = set.clone();
                            }
                        }
                    }
                }
                self.forward_notification(user, &event);
            }
            other => self.forward_notification(user, &other),
        }
    }

    fn forward_notification(&self, user: UserId, event: &UserEvent) {
        let frame = protocol::server_frame(&ServerFrame::Notification {
            event: event.clone(),
        });
        for socket in self.user_sockets(user, false) {
            socket.push(Out::frame(frame.clone()), &self.metrics);
        }
    }

    fn user_sockets(&self, user: UserId, include_simple: bool) -> Vec<SocketHandle> {
        let inner = self.lock();
        inner
            .users
            .get(&user)
            .map(|u| {
                u.conns
                    .iter()
                    .filter_map(|c| inner.conns.get(c))
                    .filter(|e| include_simple || !e.simple)
                    .map(|e| e.socket.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    // ---- presence, shutdown, statistics ---------------------------------------------------

    /// Queues an ephemeral frame (presence) to every live full-protocol subscriber.
    pub fn broadcast(&self, conversation: ConversationId, frame: &Bytes) {
        let inner = self.lock();
        if let Some(conv) = inner.convs.get(&conversation) {
            for sub in conv.subs.values() {
                if !sub.simple && matches!(sub.state, SubState::Live { .. }) {
                    sub.socket.push(Out::frame(frame.clone()), &self.metrics);
                }
            }
        }
    }

    pub fn is_subscribed(&self, conn: ConnId, conversation: ConversationId) -> bool {
        self.lock()
            .conns
            .get(&conn)
            .is_some_and(|c| c.subs.contains(&conversation))
    }

    pub fn has_subscribers(&self, conversation: ConversationId) -> bool {
        self.lock()
            .convs
            .get(&conversation)
            .is_some_and(|c| !c.subs.is_empty())
    }

    /// Asks every socket to close (graceful stop: 1001, reconnect elsewhere).
    pub fn close_all(&self, code: u16, reason: &'static str) {
        let sockets: Vec<Arc<Control>> = self
            .lock()
            .conns
            .values()
            .map(|c| c.socket.control.clone())
            .collect();
        for control in sockets {
            control.close(code, reason);
        }
    }

    pub fn connection_count(&self) -> usize {
        self.lock().conns.len()
    }

    pub fn local_users(&self) -> Vec<UserId> {
        self.lock().users.keys().copied().collect()
    }

    pub fn stats(&self) -> HubStats {
        let inner = self.lock();
        HubStats {
            connections: inner.conns.len(),
            users: inner.users.len(),
            subscriptions: inner.conns.values().map(|c| c.subs.len()).sum(),
            channels: inner.convs.values().filter(|c| !c.subs.is_empty()).count(),
        }
    }
}

fn resync_locked(conv: &mut Conv, conversation: ConversationId, at: Position, metrics: &Metrics) {
    let frame = protocol::server_frame(&ServerFrame::Subscribed {
        id: None,
        conversation_id: conversation,
        epoch: at.epoch.to_string(),
        offset: at.offset,
        recovered: false,
    });
    for sub in conv.subs.values_mut() {
        if let SubState::Live {
            skip_epoch,
            skip_through,
        } = &mut sub.state
        {
            *skip_epoch = at.epoch.clone();
            *skip_through = at.offset;
            if sub.simple {
                continue;
            }
            sub.socket.push(Out::frame(frame.clone()), metrics);
        }
    }
    conv.position = Some(at);
}

/// The per-channel lock handed from [`Hub::begin_subscribe`] to [`Hub::ensure_channel`].
pub struct ChannelLockHandle(ChannelLock);

/// Counts for the node registry.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct HubStats {
    pub connections: usize,
    pub users: usize,
    pub subscriptions: usize,
    pub channels: usize,
}
