//! In-process routing. ONE Redis pub/sub connection per replica (the bus subscriber) carries
//! every conversation with local subscribers; the router task takes each entry off it, encodes
//! it once, and pushes it (never waiting) into the queue of every subscribed socket. Nothing
//! here awaits a socket: a full queue closes that socket (1013), so one stalled client never
//! delays others.
//!
//! Redis channel subscriptions are reference-counted by local subscribers: the first socket to
//! subscribe a conversation subscribes its channel, the last to leave unsubscribes it. A
//! per-channel async lock orders those round trips, so a leave racing a join can never leave
//! the channel unsubscribed while a socket still wants it.
//!
//! Lossless resume (with `subscriptions.rs`): a subscription starts `Pending`, buffering live
//! entries, while the log is read; it turns `Live` together with the replay being queued,
//! under the hub lock, so no entry can slip between replay and live, and entries the replay
//! already covered are skipped. The router also keeps each conversation's last forwarded
//! (epoch, offset): after a Redis reconnect it re-reads every local conversation from there,
//! and a gap or an epoch change seen live is repaired from the log or announced to clients
//! (`subscribed` with `recovered: false`).
//!
//! The parts. `handle` imports none of the others and `tables` only `handle`; the rest import
//! those two and never each other (they meet as methods of [`Hub`]), so nothing imports back:
//! - `handle`: a socket's queue as the hub sees it (push, or close a slow consumer);
//! - `tables`: the [`Hub`] itself and its maps (conversations, connections, users);
//! - `connections`: sockets and users arriving and leaving, the user channel's refcount;
//! - `subscribe`: subscriptions and the conversation channels' refcount;
//! - `routing`: the router, gap repair, resync and the re-read after a bus reconnect;
//! - `user_channel`: events on a user's channel (revocation, removal, blocks, notifications);
//! - `replica`: presence broadcast, closing everything, counts for the node registry.

mod connections;
mod handle;
mod replica;
mod routing;
mod subscribe;
mod tables;
mod user_channel;

pub use handle::SocketHandle;
pub use replica::HubStats;
pub use tables::{Blocked, ChannelLockHandle, ConnId, Hub, Position, SubscribeRefused};
