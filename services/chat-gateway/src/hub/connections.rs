//! Sockets and users arriving and leaving. A user's channel (session revocation,
//! notifications) is subscribed while the user has a socket here, reference-counted by them.

use std::sync::Arc;

use bus::BusError;
use domain::UserId;
use smallvec::SmallVec;

use super::handle::SocketHandle;
use super::tables::{ChannelLock, ConnEntry, ConnId, ConvSet, Hub, UserEntry};

impl Hub {
    /// Registers a socket and makes sure its user's channel (session revocation,
    /// notifications) is subscribed. Returns whether it is the user's first socket here.
    pub async fn attach(
        &self,
        conn: ConnId,
        user: UserId,
        session: Option<Arc<str>>,
        socket: SocketHandle,
        simple: bool,
    ) -> Result<bool, BusError> {
        let (first, lock) = {
            let mut inner = self.lock();
            inner.conns.insert(
                conn,
                ConnEntry {
                    user,
                    session,
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
}
