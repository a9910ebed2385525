//! The use-case layer: every rule about conversations, messages, members and generations, and
//! who may do what. REST routes and gateway commands both call it and only parse and render,
//! so the two transports cannot disagree. Errors are [`ChatError`]s, which know nothing about
//! HTTP: REST renders them as problem bodies, the gateway as error frames with the same code.

pub mod access;
pub mod chat_settings;
pub mod contexts;
pub mod conversations;
pub mod error;
pub mod generations;
pub mod lorebooks;
pub mod members;
pub mod mentions;
pub mod messages;
pub mod mutes;
pub mod notifications;
pub mod personas;
pub mod pins;
pub mod reactions;
pub mod roles;
pub mod settings;
pub mod threads;
pub mod tree;

use std::sync::Arc;
use std::time::Duration;

use platform::Settings;

pub use error::{ChatError, Resource};

/// What the use cases need: the database, the bus and the limits from settings.
#[derive(Clone)]
pub struct ChatContext {
    pub db: db::DbPool,
    pub bus: bus::Bus,
    pub settings: Arc<Settings>,
}

/// Who is acting.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: domain::UserId,
    pub username: String,
    pub is_admin: bool,
}

impl From<&platform::AuthUser> for Actor {
    fn from(user: &platform::AuthUser) -> Self {
        Actor {
            id: user.id,
            username: user.username.clone(),
            is_admin: user.is_admin(),
        }
    }
}

/// Counts one attempt against a per-minute `limit` on `key` (Redis-backed, so it holds across
/// replicas).
pub(crate) async fn enforce_rate(
    ctx: &ChatContext,
    key: &str,
    limit: u32,
) -> Result<(), ChatError> {
    match ctx
        .bus
        .rate_limit(key, limit, Duration::from_secs(60))
        .await?
    {
        bus::RateDecision::Allowed { .. } => Ok(()),
        bus::RateDecision::Limited { retry_after } => Err(ChatError::RateLimited {
            retry_after_secs: (retry_after.as_secs_f64().ceil() as u64).max(1),
        }),
    }
}
