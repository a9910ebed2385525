//! Subcommands besides serving:
//! - `migrate` runs the database migrations once and exits (the one-shot used by compose and the
//!   Kubernetes Job, so replicas never race to migrate);
//! - `create-admin USERNAME EMAIL` creates the first administrator (password from the
//!   `ADMIN_PASSWORD` environment variable, else the first line of standard input), or promotes
//!   an existing account with that username to admin.

use std::io::BufRead;

use domain::{Email, Password, Role, Username};
use platform::Settings;

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Serve,
    Migrate,
    CreateAdmin { username: String, email: String },
}

impl Command {
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Command> {
        match args.next().as_deref() {
            None | Some("serve") => Ok(Command::Serve),
            Some("migrate") => Ok(Command::Migrate),
            Some("create-admin") => match (args.next(), args.next()) {
                (Some(username), Some(email)) => Ok(Command::CreateAdmin { username, email }),
                _ => anyhow::bail!("usage: api-service create-admin USERNAME EMAIL (password in ADMIN_PASSWORD or on stdin)"),
            },
            Some(other) => anyhow::bail!("unknown command `{other}`; expected serve, migrate or create-admin"),
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

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("ADMIN_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Creates (or promotes) an administrator. Returns a one-line description of what happened.
pub async fn create_admin(
    settings: &Settings,
    username: &str,
    email: &str,
    password: Option<String>,
) -> anyhow::Result<String> {
    let username = Username::parse(username)?;
    let email = Email::parse(email)?;
    let pool = db::connect(&settings.database.url, 1).await?;
    db::migrate(&pool).await?;
    let name = username.as_str().to_owned();
    let existing = db::run(&pool, move |c| db::users::find_by_username(c, &name)).await?;
    if let Some(user) = existing {
        let id = user.id;
        db::run(&pool, move |c| db::users::set_role(c, id, Role::Admin)).await?;
        return Ok(format!(
            "promoted existing user {} (id {}) to admin",
            user.username, id
        ));
    }
    let password = Password::parse(&match password {
        Some(p) => p,
        None => read_password()?,
    })?;
    let hash =
        crate::security::hash_password(password.expose().to_owned(), settings.auth.bcrypt_cost)
            .await?;
    let mut new = db::users::NewUserRow::new(username.as_str(), email.as_str(), &hash);
    new.role = Role::Admin;
    let user = db::run(&pool, move |c| db::users::insert(c, new)).await?;
    Ok(format!("created admin {} (id {})", user.username, user.id))
}
