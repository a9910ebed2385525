//! Subscribing a socket to a conversation, with lossless resume (DESIGN §4 "Recovery").
//!
//! Race-free order: (1) register the subscription as pending, so the router buffers live
//! entries for it; (2) make sure the Redis channel is subscribed (confirmed by Redis); (3) read
//! the log after the client's offset in one atomic script; (4) queue `subscribed`, the replay
//! and the buffered entries the replay did not cover, and go live — (4) under the hub lock.
//! Every entry is thus delivered exactly once: published before (3) ⇒ in the replay; after
//! (3) ⇒ delivered live, after (2) ⇒ seen by the router.

use std::sync::Arc;

use domain::frames::ServerFrame;
use domain::{ConversationId, ErrorCode, UserId};
use platform::ApiError;

use crate::hub::{Blocked, ConnId, SubscribeRefused};
use crate::protocol::{self, EventFrame};
use crate::socket::Out;
use crate::state::Gateway;

pub struct SubscribeRequest {
    pub id: Option<String>,
    pub conversation_id: ConversationId,
    /// The client's last position; `offset: None` starts from now.
    pub epoch: Option<String>,
    pub offset: Option<u64>,
}

/// Subscribes `conn` (of `user`) to a conversation it is a member of. Strangers get
/// `not_found`, like over REST. `simple` sockets get no `subscribed`/`presence` frames.
pub async fn subscribe(
    gw: &Gateway,
    conn: ConnId,
    user: UserId,
    simple: bool,
    req: SubscribeRequest,
) -> Result<(), ApiError> {
    let conversation = req.conversation_id;
    // Membership and the user's blocks in one round trip to the blocking pool.
    let blocked = db::run(&gw.chat.db, move |c| {
        Ok(
            match chat::access::find_member_conversation(c, conversation, user)? {
                Some(_) => Some(db::blocks::blocked_by(c, user)?),
                None => None,
            },
        )
    })
    .await?
    .ok_or_else(chat::access::not_a_member)?;
    let blocked = (!blocked.is_empty()).then(|| Arc::new(blocked.into_iter().collect::<Blocked>()));
    let lock = gw
        .hub
        .begin_subscribe(conn, conversation, blocked.clone())
        .map_err(|refused| match refused {
            SubscribeRefused::Limit => ApiError::new(
                ErrorCode::Validation,
                format!(
                    "too many subscriptions on one connection (at most {})",
                    gw.cfg.max_subscriptions
                ),
            ),
            SubscribeRefused::Gone => ApiError::unavailable("connection closed"),
        })?;
    let result = start(gw, conn, simple, &req, &lock, blocked.as_deref()).await;
    if result.is_err() {
        gw.hub.unsubscribe(conn, conversation).await;
    }
    result
}

async fn start(
    gw: &Gateway,
    conn: ConnId,
    simple: bool,
    req: &SubscribeRequest,
    lock: &crate::hub::ChannelLockHandle,
    blocked: Option<&Blocked>,
) -> Result<(), ApiError> {
    let conversation = req.conversation_id;
    let bus = &gw.chat.bus;
    gw.hub.ensure_channel(conversation, lock).await?;

    let (epoch, through, replay, recovered) = match req.offset {
        None => {
            let (epoch, latest) = bus.log_position(conversation).await?;
            (epoch, latest, Vec::new(), true)
        }
        Some(offset) => {
            let rec = bus
                .read_since(
                    conversation,
                    req.epoch.as_deref(),
                    offset,
                    gw.cfg.max_replay,
                )
                .await?;
            // A gap longer than `max_replay` is not replayed: reloading over REST is cheaper.
            let recovered = rec.recovered && rec.is_complete();
            if recovered {
                gw.metrics.resumes_recovered.increment(1);
                (rec.epoch, rec.latest_offset, rec.entries, true)
            } else {
                gw.metrics.resumes_unrecovered.increment(1);
                (rec.epoch, rec.latest_offset, Vec::new(), false)
            }
        }
    };
    let epoch: Arc<str> = epoch.into();

    let mut frames = Vec::with_capacity(replay.len() + 1);
    if !simple {
        frames.push(Out::frame(protocol::server_frame(
            &ServerFrame::Subscribed {
                id: req.id.clone(),
                conversation_id: conversation,
                epoch: epoch.to_string(),
                offset: through,
                recovered,
            },
        )));
    }
    for entry in replay {
        let frame = EventFrame::new(conversation, epoch.clone(), entry.offset, &entry.payload);
        // Typing indicators are ephemeral: stale by the time of a resume. Blocked users' events
        // are filtered as on the live path.
        let hidden = blocked.is_some_and(|b| frame.actor().is_some_and(|a| b.contains(&a)));
        if !frame.is_typing() && !hidden {
            frames.push(Out::Event(Arc::new(frame)));
        }
    }
    if !simple {
        for user_id in gw.presence.snapshot(conversation).await {
            frames.push(Out::frame(protocol::server_frame(&ServerFrame::Presence {
                conversation_id: conversation,
                user_id,
                online: true,
            })));
        }
    }
    gw.hub
        .finish_subscribe(conn, conversation, epoch, through, frames);
    Ok(())
}
