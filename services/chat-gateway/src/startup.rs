//! Builds the gateway from settings: connect, start the router and the background loops, bind,
//! serve; and stops it, gracefully (SIGTERM, [`Stopper::stop`]) or abruptly ([`Stopper::kill`],
//! for tests that need a replica to die).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use chat::ChatContext;
use platform::{ops::Readiness, server::RunningServer, Authenticator, JwtKeys, Settings};
use tokio::task::AbortHandle;

use crate::config::GatewayConfig;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::presence::Presence;
use crate::protocol::close;
use crate::state::Gateway;
use crate::{registry, routes};

pub struct Application {
    server: RunningServer,
    stopper: Stopper,
}

impl Application {
    /// Builds with the gateway limits of the settings' `[gateway]` section.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let cfg = GatewayConfig::from_settings(&settings.gateway);
        Self::build_with(settings, cfg).await
    }

    pub async fn build_with(settings: Settings, cfg: GatewayConfig) -> anyhow::Result<Application> {
        let cfg = Arc::new(cfg);
        let (pool, bus) = platform::connect(&settings).await?;
        let metrics = Metrics::new();
        // The replica's ONE pub/sub connection; it connects in the background if Redis is down.
        let (subscriber, events) = bus.subscriber().await?.into_parts();
        let hub = Arc::new(Hub::new(subscriber, bus.clone(), metrics.clone(), &cfg));
        let node_id = node_id();
        let presence = Arc::new(Presence::new(
            bus.clone(),
            pool.clone(),
            hub.clone(),
            node_id.clone(),
            cfg.clone(),
        ));
        let gateway = Arc::new(Gateway::new(
            cfg,
            node_id,
            Authenticator {
                keys: JwtKeys::new(&settings.auth),
                bus: bus.clone(),
            },
            ChatContext {
                db: pool.clone(),
                bus: bus.clone(),
                settings: Arc::new(settings.clone()),
            },
            hub.clone(),
            presence.clone(),
            metrics,
        ));
        let readiness = Readiness {
            service: "chat-gateway",
            db: Some(pool),
            bus: Some(bus),
        };
        let routes_gateway = gateway.clone();
        let server = RunningServer::bind_upgradable(
            &settings,
            settings.http.gateway_port,
            readiness,
            move |cfg| routes::configure(cfg, routes_gateway.clone()),
        )?;
        let _ = gateway.port.set(server.port());
        let tasks = vec![
            tokio::spawn(hub.run_router(events)).abort_handle(),
            tokio::spawn(registry::run_heartbeat(gateway.clone())).abort_handle(),
            tokio::spawn(presence.clone().run_poller()).abort_handle(),
            tokio::spawn(presence.run_refresher()).abort_handle(),
        ];
        tracing::info!(node_id = %gateway.node_id, port = server.port(), "chat-gateway ready");
        let stopper = Stopper {
            gateway,
            server: server.handle(),
            tasks: Arc::new(Mutex::new(tasks)),
        };
        Ok(Application { server, stopper })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn node_id(&self) -> &str {
        &self.stopper.gateway.node_id
    }

    /// The shared state, for tests and the load generator (connection counts, the hub).
    pub fn gateway(&self) -> Arc<Gateway> {
        self.stopper.gateway.clone()
    }

    /// A handle that stops this replica from elsewhere.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until SIGTERM/SIGINT or [`Stopper::stop`], then drains.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopper = self.stopper;
        let server = self.server.run_until_stopped();
        tokio::pin!(server);
        let result = tokio::select! {
            result = &mut server => result,
            _ = platform::shutdown::signal() => {
                // The server future keeps running while the sockets drain: it is what carries
                // out `stop`'s command to the HTTP server (awaited alone, `stop` would wait forever).
                let (_, result) = tokio::join!(stopper.stop(), &mut server);
                result
            }
        };
        stopper.abort_tasks();
        result
    }
}

/// Stops a replica.
#[derive(Clone)]
pub struct Stopper {
    gateway: Arc<Gateway>,
    server: ServerHandle,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Stopper {
    /// Graceful stop: refuse new sockets, tell every client to reconnect elsewhere (close 1001)
    /// and wait for the sockets to close (up to `drain_timeout`), take this replica out of the
    /// node registry, then stop the HTTP server.
    pub async fn stop(&self) {
        let gw = &self.gateway;
        if gw.begin_shutdown() {
            tracing::info!(
                connections = gw.hub.connection_count(),
                "draining: asking clients to reconnect elsewhere"
            );
            gw.hub
                .close_all(close::GOING_AWAY, "server shutting down, reconnect");
            // Until every TCP connection is closed (close frame written, client's FIN seen), not
            // only forgotten by the hub: the HTTP server does not wait for upgraded sockets.
            let deadline = tokio::time::Instant::now() + gw.cfg.drain_timeout;
            while gw.open_sockets() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            self.abort_tasks();
            registry::unregister(gw).await;
        }
        self.server.stop(true).await;
    }

    /// Abrupt stop, as if the process died: sockets are dropped without a close frame, the
    /// registry entry and presence claims are left to expire.
    pub async fn kill(&self) {
        self.gateway.begin_shutdown();
        self.abort_tasks();
        self.server.stop(false).await;
    }

    fn abort_tasks(&self) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

/// A short random id for this replica (in presence, the registry and connection ids).
fn node_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("gw-{}", &id[..8])
}
