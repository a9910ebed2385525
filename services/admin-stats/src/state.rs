//! What every handler can reach. Cheap to clone: pools are reference-counted.

use platform::Settings;

#[derive(Clone)]
pub struct AppState {
    pub db: db::DbPool,
    pub bus: bus::Bus,
    pub settings: std::sync::Arc<Settings>,
}
