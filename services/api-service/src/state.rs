//! What every handler can reach. Cheap to clone: pools and keys are reference-counted.

use platform::{JwtKeys, Settings};

#[derive(Clone)]
pub struct AppState {
    pub db: db::DbPool,
    pub bus: bus::Bus,
    pub jwt: JwtKeys,
    pub settings: std::sync::Arc<Settings>,
    pub trusted_proxies: platform::http::TrustedProxies,
}

impl AppState {
    /// The context of the conversation use cases shared with the gateway.
    pub fn chat(&self) -> chat::ChatContext {
        chat::ChatContext {
            db: self.db.clone(),
            bus: self.bus.clone(),
            settings: self.settings.clone(),
        }
    }
}
