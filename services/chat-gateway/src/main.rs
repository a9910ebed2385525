use chat_gateway::startup::Application;
use platform::Settings;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    // Flushes the trace exporter when main returns (after the drain).
    let _telemetry = platform::telemetry::init_service(&settings.log, "chat-gateway");
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}
