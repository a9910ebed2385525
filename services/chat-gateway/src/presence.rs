//! Presence: whether each member of a conversation is online, for the members' sockets.
//!
//! A user is online while some replica holds an unexpired claim for them (`bus.set_presence`,
//! refreshed every `presence_refresh`, TTL `presence_ttl`), so a replica that dies takes its
//! users offline within one TTL without anyone cleaning up. Expiry produces no event, so each
//! replica re-checks the members of the conversations its sockets watch every `presence_poll`
//! and sends `presence` frames for changes; local connects and disconnects are re-checked at
//! once. Presence is ephemeral: it is not written to the conversation log, and a subscriber
//! gets a snapshot of who is online right after `subscribed`.
//!
//! Conversations with more than `presence_max_members` members are not tracked: their
//! presence would cost O(members²) frames (Discord skips presence in large guilds likewise).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bus::Bus;
use domain::frames::ServerFrame;
use domain::{ConversationId, UserId};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::config::GatewayConfig;
use crate::hub::Hub;
use crate::protocol;

/// Member lists are re-read this often (joins and leaves show up within it).
const MEMBERS_REFRESH: Duration = Duration::from_secs(30);
/// Concurrent Redis look-ups per poll.
const LOOKUP_CONCURRENCY: usize = 32;

struct Tracked {
    /// Empty when the conversation is too large to track.
    members: Vec<UserId>,
    online: HashSet<UserId>,
    loaded_at: Instant,
}

pub struct Presence {
    bus: Bus,
    db: db::DbPool,
    hub: Arc<Hub>,
    node_id: String,
    cfg: Arc<GatewayConfig>,
    tracked: Mutex<HashMap<ConversationId, Tracked>>,
    pokes: mpsc::UnboundedSender<UserId>,
    poke_rx: Mutex<Option<mpsc::UnboundedReceiver<UserId>>>,
}

impl Presence {
    pub fn new(
        bus: Bus,
        db: db::DbPool,
        hub: Arc<Hub>,
        node_id: String,
        cfg: Arc<GatewayConfig>,
    ) -> Self {
        let (pokes, poke_rx) = mpsc::unbounded_channel();
        Self {
            bus,
            db,
            hub,
            node_id,
            cfg,
            tracked: Mutex::new(HashMap::new()),
            pokes,
            poke_rx: Mutex::new(Some(poke_rx)),
        }
    }

    fn tracked(&self) -> MutexGuard<'_, HashMap<ConversationId, Tracked>> {
        self.tracked.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user's first socket on this replica opened.
    pub async fn user_online(&self, user: UserId) {
        if let Err(e) = self
            .bus
            .set_presence(user, &self.node_id, self.cfg.presence_ttl)
            .await
        {
            tracing::debug!(error = %e, %user, "set presence failed");
        }
        let _ = self.pokes.send(user);
    }

    /// The user's last socket on this replica closed.
    pub async fn user_offline(&self, user: UserId) {
        if let Err(e) = self.bus.clear_presence(user, &self.node_id).await {
            tracing::debug!(error = %e, %user, "clear presence failed");
        }
        let _ = self.pokes.send(user);
    }

    /// Who of the conversation's members is online now (empty for untracked conversations).
    pub async fn snapshot(&self, conversation: ConversationId) -> Vec<UserId> {
        if let Some(t) = self.tracked().get(&conversation) {
            let mut online: Vec<UserId> = t.online.iter().copied().collect();
            online.sort();
            return online;
        }
        let members = match self.load_members(conversation).await {
            Some(m) => m,
            None => return Vec::new(),
        };
        let online = self.check(&members).await;
        let mut list: Vec<UserId> = members
            .iter()
            .copied()
            .filter(|u| online.get(u).copied().unwrap_or(false))
            .collect();
        list.sort();
        self.tracked().insert(
            conversation,
            Tracked {
                members,
                online: list.iter().copied().collect(),
                loaded_at: Instant::now(),
            },
        );
        list
    }

    /// Active members, or an empty list when there are too many to track; `None` on a
    /// database error (the snapshot is skipped; polling retries).
    async fn load_members(&self, conversation: ConversationId) -> Option<Vec<UserId>> {
        match db::run(&self.db, move |c| {
            // A channel's members are its server's members (as `chat::access` rules).
            let row = db::conversations::find(c, conversation)?;
            match (row.kind, row.server_id) {
                (domain::ConversationKind::Channel, Some(server)) => {
                    Ok(db::servers::list_members(c, server)?
                        .into_iter()
                        .map(|(m, _)| m.user_id)
                        .collect())
                }
                _ => db::members::active_user_ids(c, conversation),
            }
        })
        .await
        {
            Ok(m) if m.len() > self.cfg.presence_max_members => Some(Vec::new()),
            Ok(m) => Some(m),
            Err(e) => {
                tracing::debug!(error = %e, %conversation, "presence member lookup failed");
                None
            }
        }
    }

    /// `is_online` for each user; users whose look-up failed are left out.
    async fn check(&self, users: &[UserId]) -> HashMap<UserId, bool> {
        futures_util::stream::iter(users.iter().copied())
            .map(|u| async move { (u, self.bus.is_online(u).await) })
            .buffer_unordered(LOOKUP_CONCURRENCY)
            .filter_map(|(u, r)| async move { r.ok().map(|online| (u, online)) })
            .collect()
            .await
    }

    /// Re-checks `only` (or every member of every tracked conversation) and sends frames for
    /// what changed.
    async fn poll(&self, only: Option<&HashSet<UserId>>) {
        // Forget conversations nobody here watches; refresh stale member lists.
        let (users, stale) = {
            let mut tracked = self.tracked();
            tracked.retain(|conv, _| self.hub.has_subscribers(*conv));
            let mut users = HashSet::new();
            let mut stale = Vec::new();
            for (conv, t) in tracked.iter() {
                if only.is_none() && t.loaded_at.elapsed() > MEMBERS_REFRESH {
                    stale.push(*conv);
                }
                users.extend(
                    t.members
                        .iter()
                        .filter(|u| only.is_none_or(|o| o.contains(u)))
                        .copied(),
                );
            }
            (users, stale)
        };
        for conv in stale {
            if let Some(members) = self.load_members(conv).await {
                if let Some(t) = self.tracked().get_mut(&conv) {
                    t.online.retain(|u| members.contains(u));
                    t.members = members;
                    t.loaded_at = Instant::now();
                }
            }
        }
        if users.is_empty() {
            return;
        }
        let users: Vec<UserId> = users.into_iter().collect();
        let status = self.check(&users).await;
        let mut changes: Vec<(ConversationId, UserId, bool)> = Vec::new();
        {
            let mut tracked = self.tracked();
            for (conv, t) in tracked.iter_mut() {
                for member in &t.members {
                    let Some(&online) = status.get(member) else {
                        continue;
                    };
                    let was = t.online.contains(member);
                    if online != was {
                        if online {
                            t.online.insert(*member);
                        } else {
                            t.online.remove(member);
                        }
                        changes.push((*conv, *member, online));
                    }
                }
            }
        }
        for (conversation_id, user_id, online) in changes {
            let frame = protocol::server_frame(&ServerFrame::Presence {
                conversation_id,
                user_id,
                online,
            });
            self.hub.broadcast(conversation_id, &frame);
        }
    }

    /// Polls on a timer and on local connects/disconnects.
    pub async fn run_poller(self: Arc<Self>) {
        let Some(mut pokes) = self
            .poke_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        let mut tick = tokio::time::interval(self.cfg.presence_poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.poll(None).await,
                user = pokes.recv() => {
                    let Some(user) = user else { return };
                    let mut users = HashSet::from([user]);
                    while let Ok(u) = pokes.try_recv() {
                        users.insert(u);
                    }
                    self.poll(Some(&users)).await;
                }
            }
        }
    }

    /// Keeps this replica's claims alive for its connected users.
    pub async fn run_refresher(self: Arc<Self>) {
        let mut tick = tokio::time::interval(self.cfg.presence_refresh);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let users = self.hub.local_users();
            futures_util::stream::iter(users)
                .for_each_concurrent(LOOKUP_CONCURRENCY, |u| {
                    let this = &self;
                    async move {
                        if let Err(e) = this
                            .bus
                            .set_presence(u, &this.node_id, this.cfg.presence_ttl)
                            .await
                        {
                            tracing::debug!(error = %e, user = %u, "presence refresh failed");
                        }
                    }
                })
                .await;
        }
    }
}
