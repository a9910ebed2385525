//! Subcommands besides serving: `migrate` runs the database migrations once and exits (the
//! one-shot used by compose and the Kubernetes Job, so replicas never race to migrate).

use platform::Settings;

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Serve,
    Migrate,
}

impl Command {
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Command> {
        match args.next().as_deref() {
            None | Some("serve") => Ok(Command::Serve),
            Some("migrate") => Ok(Command::Migrate),
            Some(other) => {
                anyhow::bail!("unknown command `{other}`; expected `serve` or `migrate`")
            }
        }
    }
}

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database.url, 1).await?;
    let applied = db::migrate(&pool).await?;
    tracing::info!(applied, "migrations complete");
    println!("applied {applied} migration(s)");
    Ok(())
}
