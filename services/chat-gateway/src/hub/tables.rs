//! The hub's state: one lock over three maps (conversations with their subscribers,
//! connections with their subscriptions, users with their sockets), and the entry types the
//! other parts of the hub read and change under that lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bus::{Bus, SubscriberHandle};
use domain::{ConversationId, UserId};
use smallvec::SmallVec;

use super::handle::SocketHandle;
use crate::config::GatewayConfig;
use crate::metrics::Metrics;
use crate::protocol::EventFrame;

pub type ConnId = u64;

/// A conversation log position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position {
    pub epoch: Arc<str>,
    pub offset: u64,
}

/// Serialises subscribe/unsubscribe of one Redis channel; the flag says whether it is
/// subscribed.
pub(super) type ChannelLock = Arc<tokio::sync::Mutex<bool>>;

pub(super) enum SubState {
    /// Subscribing: live entries wait here until the replay is queued.
    Pending(Vec<Arc<EventFrame>>),
    /// Live; entries of `skip_epoch` up to `skip_through` were covered by the replay.
    Live {
        skip_epoch: Arc<str>,
        skip_through: u64,
    },
}

pub(super) struct Sub {
    pub(super) socket: SocketHandle,
    pub(super) simple: bool,
    pub(super) state: SubState,
    /// Users this subscriber blocked: their messages and typing are not delivered (filtered here,
    /// on fan-out, not only in clients). Loaded when the subscription starts.
    pub(super) blocked: Option<Arc<Blocked>>,
}

/// The set of users someone blocked.
pub type Blocked = std::collections::HashSet<UserId>;

pub(super) struct Conv {
    pub(super) subs: HashMap<ConnId, Sub>,
    /// The last entry forwarded (or the position the first subscriber started from).
    pub(super) position: Option<Position>,
    pub(super) lock: ChannelLock,
}

pub(super) struct ConnEntry {
    pub(super) user: UserId,
    /// The session its token belongs to: ending that session closes this socket.
    pub(super) session: Option<Arc<str>>,
    pub(super) socket: SocketHandle,
    pub(super) simple: bool,
    pub(super) subs: ConvSet,
}

/// A connection's subscriptions. Most sockets hold one or two, so they are kept inline: a
/// small heap block per socket, allocated among a subscription's temporaries, would keep the
/// pages they used from being reused as a whole after they are freed.
#[derive(Default)]
pub(super) struct ConvSet(SmallVec<[ConversationId; 2]>);

impl ConvSet {
    pub(super) fn contains(&self, conversation: &ConversationId) -> bool {
        self.0.contains(conversation)
    }

    pub(super) fn insert(&mut self, conversation: ConversationId) {
        if !self.contains(&conversation) {
            self.0.push(conversation);
        }
    }

    /// Whether it was there.
    pub(super) fn remove(&mut self, conversation: &ConversationId) -> bool {
        let before = self.0.len();
        self.0.retain(|c| c != conversation);
        self.0.len() != before
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &ConversationId> {
        self.0.iter()
    }
}

pub(super) struct UserEntry {
    /// Inline for the same reason as [`ConvSet`]: a user rarely has more than two devices.
    pub(super) conns: SmallVec<[ConnId; 2]>,
    pub(super) lock: ChannelLock,
}

#[derive(Default)]
pub(super) struct Inner {
    pub(super) convs: HashMap<ConversationId, Conv>,
    pub(super) conns: HashMap<ConnId, ConnEntry>,
    pub(super) users: HashMap<UserId, UserEntry>,
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
    pub(super) subscriber: SubscriberHandle,
    pub(super) bus: Bus,
    pub(super) metrics: Metrics,
    pub(super) max_subscriptions: usize,
    pub(super) max_pending: usize,
    pub(super) max_replay: usize,
}

impl Hub {
    pub fn new(
        subscriber: SubscriberHandle,
        bus: Bus,
        metrics: Metrics,
        cfg: &GatewayConfig,
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

    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section leaves the maps consistent before anything can panic, so a
        // poisoned lock still guards valid data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// The per-channel lock handed from [`Hub::begin_subscribe`] to [`Hub::ensure_channel`].
pub struct ChannelLockHandle(pub(super) ChannelLock);
