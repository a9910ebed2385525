//! What every part of the gateway shares: one `Arc<Gateway>` per replica.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use chat::ChatContext;
use chrono::{DateTime, Utc};
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
}

/// Counts a socket as open from its upgrade until its TCP connection is closed: after the hub
/// forgot it, its writer may still be flushing the close frame. A graceful stop waits for these,
/// because the HTTP server no longer tracks upgraded connections.
pub struct SocketGuard(Arc<Gateway>);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.open_sockets.fetch_sub(1, Ordering::SeqCst);
    }
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
        }
    }

    pub fn open_socket(self: &Arc<Self>) -> SocketGuard {
        self.open_sockets.fetch_add(1, Ordering::SeqCst);
        SocketGuard(self.clone())
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
