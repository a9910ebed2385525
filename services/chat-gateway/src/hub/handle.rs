//! A socket's queue as the hub sees it: pushes never wait, and a full queue closes the socket.

use std::sync::Arc;

use crate::metrics::Metrics;
use crate::protocol::close;
use crate::socket::{Control, Out, PushError};

/// Where a socket's frames go.
#[derive(Clone, Debug)]
pub struct SocketHandle {
    pub control: Arc<Control>,
}

impl SocketHandle {
    /// Queues `out` without waiting. A full queue, or one whose oldest frame waited too long,
    /// means the client is not reading: the socket is closed with a code that tells it to
    /// resume. Returns whether it was queued.
    pub fn push(&self, out: Out, metrics: &Metrics) -> bool {
        match self.control.push(out) {
            Ok(()) => true,
            Err(PushError::Full | PushError::Stale) => {
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
