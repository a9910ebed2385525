//! The [`Bus`] handle: a lazily connecting pool for ordinary commands, plus the client used to
//! open the dedicated connections that blocking reads and pub/sub need.

use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::{Manager, Pool, Runtime};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client};

use crate::config::BusConfig;
use crate::error::BusError;
use crate::keys::Keys;

/// Everything the services do through Redis. Cheap to clone: one pool shared by all clones.
#[derive(Clone)]
pub struct Bus {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) cfg: BusConfig,
    pub(crate) client: Client,
    pub(crate) pool: Pool,
    pub(crate) keys: Keys,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: it may carry a password.
        f.debug_struct("Bus")
            .field("key_prefix", &self.inner.cfg.key_prefix)
            .field("pool_size", &self.inner.cfg.pool_size)
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// Validates the configuration and builds the pool **without** connecting: a service may
    /// start while Redis is down and starts working once it is back, without a restart. Use
    /// [`Bus::ping`] for readiness.
    pub fn connect(cfg: BusConfig) -> Result<Bus, BusError> {
        validate(&cfg)?;
        let client = Client::open(cfg.url.as_str()).map_err(|e| {
            // The detail names what is wrong (scheme, port, …) but not the URL itself.
            BusError::InvalidUrl(e.detail().unwrap_or(e.category()).to_owned())
        })?;
        let manager = Manager::new_with_config(cfg.url.as_str(), pooled_connection_config(&cfg))
            .map_err(|e| BusError::InvalidUrl(e.category().to_owned()))?;
        let pool = Pool::builder(manager)
            .max_size(cfg.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            // Bounded waits everywhere, so an outage answers Unavailable instead of hanging.
            .wait_timeout(Some(cfg.command_timeout))
            .create_timeout(Some(cfg.connect_timeout))
            .recycle_timeout(Some(cfg.connect_timeout))
            .build()
            .map_err(|e| BusError::InvalidUrl(e.to_string()))?;
        let keys = Keys::new(&cfg.key_prefix);
        Ok(Bus {
            inner: Arc::new(Inner {
                cfg,
                client,
                pool,
                keys,
            }),
        })
    }

    pub fn config(&self) -> &BusConfig {
        &self.inner.cfg
    }

    /// Round trip to Redis; the readiness probe.
    pub async fn ping(&self) -> Result<(), BusError> {
        let mut conn = self.conn().await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// A pooled connection for ordinary (non-blocking) commands. Never hold it across an
    /// unrelated `.await`: it returns to the pool on drop.
    pub(crate) async fn conn(&self) -> Result<deadpool_redis::Connection, BusError> {
        Ok(self.inner.pool.get().await?)
    }

    /// A connection of its own, without a response timeout, for `BLOCK`ing reads. The caller
    /// bounds each call itself.
    pub(crate) async fn dedicated_connection(&self) -> Result<MultiplexedConnection, BusError> {
        let cfg = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.inner.cfg.connect_timeout))
            .set_response_timeout(None);
        let conn = tokio::time::timeout(
            self.inner.cfg.connect_timeout + Duration::from_millis(100),
            self.inner
                .client
                .get_multiplexed_async_connection_with_config(&cfg),
        )
        .await
        .map_err(|_| BusError::timeout("redis connect"))??;
        Ok(conn)
    }

    /// A dedicated RESP2 pub/sub connection, split into its command sink and message stream.
    pub(crate) async fn pubsub_connection(
        &self,
    ) -> Result<(redis::aio::PubSubSink, redis::aio::PubSubStream), BusError> {
        let pubsub = tokio::time::timeout(
            self.inner.cfg.connect_timeout,
            self.inner.client.get_async_pubsub(),
        )
        .await
        .map_err(|_| BusError::timeout("redis pub/sub connect"))??;
        Ok(pubsub.split())
    }
}

fn pooled_connection_config(cfg: &BusConfig) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(cfg.connect_timeout))
        .set_response_timeout(Some(cfg.command_timeout))
}

fn validate(cfg: &BusConfig) -> Result<(), BusError> {
    let url = cfg.url.trim();
    if url.is_empty() {
        return Err(BusError::InvalidUrl("it is empty".to_owned()));
    }
    let scheme_ok = ["redis://", "rediss://", "unix://", "redis+unix://"]
        .iter()
        .any(|s| url.starts_with(s));
    if !scheme_ok {
        return Err(BusError::InvalidUrl(
            "expected a redis://host:port URL".to_owned(),
        ));
    }
    Ok(())
}
