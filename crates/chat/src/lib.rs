//! Conversation use cases shared by the REST API and the WebSocket gateway, so a message sent
//! either way is validated, stored, published and answered identically (issue: "no second
//! messaging path"). Errors are `ApiError`s: HTTP renders them as problem bodies, the gateway
//! as error frames with the same code.

pub mod access;
pub mod messages;

use std::sync::Arc;

use platform::Settings;

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
