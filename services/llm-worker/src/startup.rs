//! Builds the worker from settings: connect, bind the ops port (`/health`, `/ready`,
//! `/metrics`), and run the job consumer beside it until SIGTERM/SIGINT or [`Application::stop`].

use platform::{ops::Readiness, server::RunningServer, Settings};
use tokio_util::sync::CancellationToken;

use crate::Worker;

pub struct Application {
    server: RunningServer,
    worker: Worker,
    stop: CancellationToken,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let (pool, bus) = platform::connect(&settings).await?;
        let worker = Worker::build(&settings, pool.clone(), bus.clone())?;
        let readiness = Readiness {
            service: "llm-worker",
            db: Some(pool),
            bus: Some(bus),
        };
        let server = RunningServer::bind(
            &settings,
            settings.http.worker_ops_port,
            readiness,
            |_cfg| {},
        )?;
        Ok(Application {
            server,
            worker,
            stop: CancellationToken::new(),
        })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Cancelling it stops the worker gracefully (as SIGTERM does), then the ops server.
    pub fn stop(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Runs until stopped: on SIGTERM/SIGINT (or [`Application::stop`]) the consumer stops
    /// reading, drains in-flight jobs within the shutdown timeout, and the ops server closes.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let stop = self.stop;
        let on_signal = {
            let stop = stop.clone();
            async move {
                tokio::select! {
                    _ = platform::shutdown::signal() => stop.cancel(),
                    _ = stop.cancelled() => {}
                }
            }
        };
        let server = {
            let stop = stop.clone();
            let server = self.server.run_until_stopped();
            async move {
                let result = server.await;
                // The server stopped on its own (it handles SIGTERM too): stop the worker.
                stop.cancel();
                result
            }
        };
        // Not spawned: dropping this future (an aborted task) drops the worker and its jobs.
        let worker = async move {
            self.worker.run(stop.clone()).await;
            handle.stop(true).await;
        };
        let (result, (), ()) = tokio::join!(server, worker, on_signal);
        result
    }
}
