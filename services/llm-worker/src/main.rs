use llm_worker::startup::Application;
use platform::Settings;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    platform::telemetry::init(&settings.log);
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}
