//! Builds admin-stats from settings: connect, bind, serve.

use platform::{ops::Readiness, server::RunningServer, Settings};

pub struct Application {
    server: RunningServer,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let (pool, bus) = platform::connect(&settings).await?;
        let readiness = Readiness {
            service: "admin-stats",
            db: Some(pool),
            bus: Some(bus),
        };
        let server =
            RunningServer::bind(&settings, settings.http.admin_port, readiness, |_cfg| {})?;
        Ok(Application { server })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.run_until_stopped().await
    }
}
