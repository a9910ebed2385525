use llm_worker::startup::Application;
use platform::Settings;

// A multi-threaded runtime: the worker runs many generations at once, and their event
// encoding and Redis I/O should use every core, not only the actix system's one thread.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    // Flushes the trace exporter when main returns (after the drain).
    let _telemetry = platform::telemetry::init_service(&settings.log, "llm-worker");
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}
