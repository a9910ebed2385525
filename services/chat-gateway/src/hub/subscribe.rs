//! Subscriptions: a socket's interest in a conversation, and the conversation's Redis channel,
//! subscribed while it has local subscribers (reference-counted, ordered by a per-channel lock).

use std::collections::HashMap;
use std::sync::Arc;

use bus::BusError;
use domain::ConversationId;

use super::tables::{
    Blocked, ChannelLock, ChannelLockHandle, ConnId, Conv, Hub, Inner, Position, Sub, SubState,
    SubscribeRefused,
};
use crate::socket::Out;

impl Hub {
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
    pub(super) async fn release_conv(&self, conversation: ConversationId) {
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
}
