//! What every part of the gateway shares: one `Arc<Gateway>` per replica.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use chat::ChatContext;
use chrono::{DateTime, Utc};
use domain::UserId;
use platform::Authenticator;

use crate::config::GatewayConfig;
use crate::hub::{ConnId, Hub};
use crate::metrics::Metrics;
use crate::presence::Presence;

pub struct Gateway {
    pub cfg: Arc<GatewayConfig>,
    /// This replica's id in the node registry and in presence entries.
    pub node_id: String,
    pub started_at: DateTime<Utc>,
    pub auth: Authenticator,
    pub chat: ChatContext,
    pub hub: Arc<Hub>,
    pub presence: Arc<Presence>,
    pub metrics: Metrics,
    /// The bound port, known once the server is bound.
    pub port: OnceLock<u16>,
    next_conn: AtomicU64,
    shutting_down: AtomicBool,
    /// Sockets whose TCP connection is still open (see [`SocketGuard`]).
    open_sockets: AtomicUsize,
    /// The same, per user, for `max_sockets_per_user`. Counted here rather than in the hub,
    /// which learns of a socket only after the `101`: a burst of simultaneous handshakes from
    /// one user must not all pass the check before any of them is registered.
    sockets_per_user: Mutex<HashMap<UserId, usize>>,
}

/// Counts a socket as open from its upgrade until its TCP connection is closed: after the hub
/// forgot it, its writer may still be flushing the close frame. A graceful stop waits for these,
/// because the HTTP server no longer tracks upgraded connections; the per-user cap counts them
/// too, so a closing socket holds its user's place until it is really gone.
pub struct SocketGuard {
    gw: Arc<Gateway>,
    user: UserId,
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        {
            let mut per_user = self.gw.lock_sockets_per_user();
            if let Some(n) = per_user.get_mut(&self.user) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    per_user.remove(&self.user);
                }
            }
        }
        self.gw.open_sockets.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A socket refused because its user holds `max_sockets_per_user` on this replica already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManySockets {
    pub limit: usize,
}

impl Gateway {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: Arc<GatewayConfig>,
        node_id: String,
        auth: Authenticator,
        chat: ChatContext,
        hub: Arc<Hub>,
        presence: Arc<Presence>,
        metrics: Metrics,
    ) -> Self {
        Self {
            cfg,
            node_id,
            started_at: Utc::now(),
            auth,
            chat,
            hub,
            presence,
            metrics,
            port: OnceLock::new(),
            next_conn: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
            open_sockets: AtomicUsize::new(0),
            sockets_per_user: Mutex::default(),
        }
    }

    /// Counts a socket of `user` as open, unless the user holds the most allowed already.
    pub fn open_socket(self: &Arc<Self>, user: UserId) -> Result<SocketGuard, TooManySockets> {
        {
            let limit = self.cfg.max_sockets_per_user;
            let mut per_user = self.lock_sockets_per_user();
            let n = per_user.entry(user).or_insert(0);
            if *n >= limit {
                return Err(TooManySockets { limit });
            }
            *n += 1;
        }
        self.open_sockets.fetch_add(1, Ordering::SeqCst);
        Ok(SocketGuard {
            gw: self.clone(),
            user,
        })
    }

    fn lock_sockets_per_user(&self) -> MutexGuard<'_, HashMap<UserId, usize>> {
        // Each critical section is a single map update; a poisoned lock still guards valid
        // counts.
        self.sockets_per_user
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn open_sockets(&self) -> usize {
        self.open_sockets.load(Ordering::SeqCst)
    }

    pub fn next_connection_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The id clients see: unique across replicas, so support can tell which node served it.
    pub fn connection_label(&self, id: ConnId) -> String {
        format!("{}-{id}", self.node_id)
    }

    pub fn begin_shutdown(&self) -> bool {
        !self.shutting_down.swap(true, Ordering::SeqCst)
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}
