use api_service::{cli, startup::Application};
use platform::Settings;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    // Flushes the trace exporter when main returns (after the drain).
    let _telemetry = platform::telemetry::init_service(&settings.log, "api-service");
    match cli::Command::parse(std::env::args().skip(1))? {
        cli::Command::Serve => {
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await?
        }
        cli::Command::Migrate => cli::migrate(&settings).await?,
        cli::Command::CreateAdmin { username, email } => {
            println!(
                "{}",
                cli::create_admin(&settings, &username, &email, None).await?
            )
        }
    }
    Ok(())
}
