//! Plumbing shared by every service: configuration, tracing, the `ApiError` → HTTP mapping, the
//! JWT extractor, `/health` `/ready` `/metrics`, and shutdown. Everything that speaks HTTP is
//! behind the `http` feature (on by default): the use-case layer (`chat`) builds without it.

pub mod auth;
pub mod config;
pub mod error;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod metrics;
#[cfg(feature = "http")]
pub mod ops;
pub mod rate_limit;
#[cfg(feature = "http")]
pub mod server;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "http")]
pub mod upgrade;

pub use auth::{AuthUser, Authenticator, JwtKeys};
pub use config::Settings;
pub use error::ApiError;

/// Connects the database pool and the Redis bus described by the settings. Neither needs its
/// server to be up yet: both connect lazily and recover when the server comes back.
pub async fn connect(settings: &Settings) -> anyhow::Result<(db::DbPool, bus::Bus)> {
    let pool = db::connect(&settings.database.url, settings.database.pool_size).await?;
    let bus = bus::Bus::connect(bus_config(settings))?;
    Ok((pool, bus))
}

pub fn bus_config(settings: &Settings) -> bus::BusConfig {
    let mut cfg = bus::BusConfig::new(settings.redis.url.clone());
    cfg.key_prefix = settings.redis.key_prefix.clone();
    cfg.pool_size = settings.redis.pool_size;
    cfg.log_max_len = settings.redis.log_max_len;
    cfg.log_ttl_secs = settings.redis.log_ttl_secs;
    cfg
}
