use admin_stats::startup::{rebuild_rollups, Application};
use platform::Settings;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    // Flushes the trace exporter when main returns (after the drain).
    let _telemetry = platform::telemetry::init_service(&settings.log, "admin-stats");
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await?
        }
        // Once after upgrading a deployment that has messages from before the roll-ups.
        Some("rebuild-rollups") => println!("{:?}", rebuild_rollups(&settings).await?),
        Some(other) => anyhow::bail!("unknown command `{other}` (serve | rebuild-rollups)"),
    }
    Ok(())
}
