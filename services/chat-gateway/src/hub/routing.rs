//! The router: the one consumer of the replica's bus subscription. Each entry is encoded once
//! and pushed to every subscribed socket; a gap in the offsets is repaired from the log, an
//! epoch change or an unrecoverable gap is announced (`subscribed` with `recovered: false`).

use std::sync::Arc;

use bus::{BusError, LogEntry, SubscriberEvent, SubscriberEvents};
use domain::frames::ServerFrame;
use domain::{ConversationId, UserId};
use futures_util::StreamExt;
use tracing::Instrument;

use super::tables::{Conv, Hub, Position, SubState};
use crate::metrics::Metrics;
use crate::protocol::{self, close, EventFrame};
use crate::socket::Out;

/// Reads of a conversation's log after a bus reconnect before its subscribers are told to reload.
const REREAD_ATTEMPTS: u32 = 3;

/// The outcome of routing one entry synchronously.
enum Routed {
    Done,
    /// Entries between the last forwarded position and this entry are missing.
    Gap(Position),
}

impl Hub {
    /// The router: the one consumer of the replica's bus subscription.
    pub async fn run_router(self: Arc<Self>, mut events: SubscriberEvents) {
        while let Some(event) = events.recv().await {
            match event {
                SubscriberEvent::Entry(entry) => match delivery_span(&entry) {
                    Some(span) => self.route_entry(entry).instrument(span).await,
                    None => self.route_entry(entry).await,
                },
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
        if entry.trace.is_some() {
            // Within the delivery span (`delivery_span`), only made for traced events.
            tracing::Span::current().record("delivered", delivered);
        }
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
}

/// The span of one event's delivery on this replica (issue 23): a child of the span that
/// published it (its trace context rides in the pub/sub envelope), so the trace of a message
/// ends at every gateway that handed it to sockets. One span per event, not per socket: the
/// frame is encoded once and queued for all local subscribers. Made only when this process
/// exports traces and the event carries a context, so with tracing off delivery does no
/// tracing work at all.
fn delivery_span(entry: &LogEntry) -> Option<tracing::Span> {
    let trace = entry.trace.as_ref()?;
    if !platform::telemetry::exporting() {
        return None;
    }
    let span = tracing::info_span!(
        "deliver",
        otel.kind = "consumer",
        messaging.operation.type = "process",
        conversation_id = %entry.conversation_id,
        offset = entry.offset,
        delivered = tracing::field::Empty,
    );
    trace.parent_of(&span);
    Some(span)
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
