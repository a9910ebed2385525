//! Jobs in flight in this process, by job id: where a stop request finds the generation to end,
//! and what keeps two deliveries of one job id from generating side by side.
//!
//! A stop arrives as a pub/sub message ([`bus::Bus::request_cancel`]) seen by every worker; the
//! one running the job cancels its token and the stream loop ends within milliseconds. The flag
//! the same request sets is checked when a job starts and after the listener reconnects, so a
//! message missed while Redis was away still stops the job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bus::{Bus, CancelSignal};
use tokio_util::sync::CancellationToken;

struct Entry {
    cancel: CancellationToken,
    /// Serialises deliveries of one job id: the second waits, then finds the reply finished.
    turn: Arc<tokio::sync::Mutex<()>>,
    holders: usize,
}

/// Cheap to clone; all clones share the table.
#[derive(Clone, Default)]
pub struct InFlight {
    jobs: Arc<Mutex<HashMap<String, Entry>>>,
}

/// A delivery's hold on its job id. Dropping it (also by aborting the task) releases the entry.
pub struct JobSlot {
    registry: InFlight,
    job_id: String,
    cancel: CancellationToken,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl JobSlot {
    /// Cancelled when a stop is requested for this job id.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Waits until no other delivery of this job id runs in this process.
    pub async fn turn(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.turn.clone().lock_owned().await
    }
}

impl Drop for JobSlot {
    fn drop(&mut self) {
        let mut jobs = self.registry.lock();
        if let Some(entry) = jobs.get_mut(&self.job_id) {
            entry.holders -= 1;
            if entry.holders == 0 {
                jobs.remove(&self.job_id);
            }
        }
    }
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding this lock leaves a consistent map (every critical section is a
        // single insert/remove), so a poisoned lock is still usable.
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a delivery of `job_id`.
    pub fn enter(&self, job_id: &str) -> JobSlot {
        let mut jobs = self.lock();
        let entry = jobs.entry(job_id.to_owned()).or_insert_with(|| Entry {
            cancel: CancellationToken::new(),
            turn: Arc::new(tokio::sync::Mutex::new(())),
            holders: 0,
        });
        entry.holders += 1;
        JobSlot {
            registry: self.clone(),
            job_id: job_id.to_owned(),
            cancel: entry.cancel.clone(),
            turn: entry.turn.clone(),
        }
    }

    /// Stops `job_id` if it runs here. Returns whether it did.
    pub fn cancel(&self, job_id: &str) -> bool {
        match self.lock().get(job_id) {
            Some(entry) => {
                entry.cancel.cancel();
                true
            }
            None => false,
        }
    }

    pub fn job_ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Routes stop requests to the jobs of this process until `stop`. Keeps retrying to listen
/// while Redis is down.
pub async fn listen(bus: Bus, jobs: InFlight, stop: CancellationToken) {
    loop {
        let mut listener = tokio::select! {
            _ = stop.cancelled() => return,
            l = bus.cancel_listener() => match l {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for stop requests; retrying");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        loop {
            let signal = tokio::select! {
                _ = stop.cancelled() => return,
                s = listener.recv() => s,
            };
            match signal {
                Some(CancelSignal::Cancel(job_id)) => {
                    if jobs.cancel(&job_id) {
                        tracing::info!(job_id, "stop requested");
                    }
                }
                // Messages sent while disconnected are lost: the flags they set are not.
                Some(CancelSignal::Reconnected) => {
                    for job_id in jobs.job_ids() {
                        if bus.is_cancelled(&job_id).await.unwrap_or(false) {
                            jobs.cancel(&job_id);
                        }
                    }
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_share_a_token_and_leave_no_trace() {
        let jobs = InFlight::default();
        let a = jobs.enter("j1");
        let b = jobs.enter("j1");
        assert_eq!(jobs.len(), 1);
        assert!(jobs.cancel("j1"));
        assert!(a.cancel_token().is_cancelled() && b.cancel_token().is_cancelled());
        drop(a);
        assert_eq!(jobs.len(), 1);
        drop(b);
        assert!(jobs.is_empty());
        assert!(!jobs.cancel("j1"));
    }
}
