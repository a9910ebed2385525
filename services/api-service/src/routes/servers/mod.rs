//! Discord-style servers: the creator owns the server and a `general` channel is made; members
//! join public servers or by invite code; channels are conversations of kind `channel` whose
//! membership follows the server's. Owner/admin manage channels; only the owner edits or deletes
//! the server, and the owner cannot leave without transferring.
//!
//! One module per part: `crud` (the server itself), `membership`, `channels`; `common` holds what
//! they share and imports none of them.

mod channels;
mod common;
mod crud;
mod membership;

pub use channels::*;
pub use common::{
    ChannelRequest, CreateServerRequest, JoinByInviteRequest, ServerListQuery, ServerMemberView,
    ServerRoleRequest, ServerView, UpdateServerRequest,
};
pub use crud::*;
pub use membership::*;
