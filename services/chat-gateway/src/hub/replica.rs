//! What concerns every socket of the replica: presence frames, closing all on a graceful
//! stop, and the counts reported to the node registry.

use std::sync::Arc;

use bytes::Bytes;
use domain::{ConversationId, UserId};

use super::tables::{ConnId, Hub, SubState};
use crate::socket::{Control, Out};

impl Hub {
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

/// Counts for the node registry.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct HubStats {
    pub connections: usize,
    pub users: usize,
    pub subscriptions: usize,
    pub channels: usize,
}
