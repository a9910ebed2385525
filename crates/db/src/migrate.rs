//! Embedded migrations, one tree per backend with identical directory names (DESIGN §3).

use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::{run, DbConn, DbError, DbPool};

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// An arbitrary constant shared by every replica: the advisory lock that serialises migrations
/// when several replicas start at once against one PostgreSQL.
const MIGRATION_LOCK: i64 = 0x0063_6861_746b_6974;

/// Applies the pending migrations of the pool's backend and returns how many ran.
pub async fn migrate(pool: &DbPool) -> Result<usize, DbError> {
    run(pool, run_migrations).await
}

/// The migration that makes usernames unique ignoring case.
const CASE_INSENSITIVE_USERNAMES: &str = "2026-12-03-000100";
/// The migration that creates the users table.
const CREATE_USERS: &str = "2026-11-01-000100";

/// The blocking form, for test templates and tools that hold a plain connection.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, DbError> {
    refuse_username_clashes(conn)?;
    match conn {
        DbConn::Postgres(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(c)?;
            let applied = c.run_pending_migrations(POSTGRES).map(|v| v.len());
            let unlocked =
                diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                    .execute(c);
            let applied = applied.map_err(|e| DbError::Migration(e.to_string()))?;
            unlocked?;
            Ok(applied)
        }
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map(|v| v.len())
            .map_err(|e| DbError::Migration(e.to_string())),
    }
}

/// Before usernames become unique ignoring case, accounts whose names differ only in case must
/// be renamed by an operator: merging them silently would hand one person's account to another.
/// The migration stops with the list instead.
fn refuse_username_clashes(conn: &mut DbConn) -> Result<(), DbError> {
    let pending: Vec<String> = match conn {
        DbConn::Postgres(c) => c
            .pending_migrations(POSTGRES)
            .map(|m| m.iter().map(|m| m.name().to_string()).collect()),
        DbConn::Sqlite(c) => c
            .pending_migrations(SQLITE)
            .map(|m| m.iter().map(|m| m.name().to_string()).collect()),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    let due = pending
        .iter()
        .any(|m| m.starts_with(CASE_INSENSITIVE_USERNAMES));
    // On a fresh database the users table does not exist yet: nothing can clash.
    let fresh = pending.iter().any(|m| m.starts_with(CREATE_USERS));
    if !due || fresh {
        return Ok(());
    }
    let clashes = crate::users::case_clashes(conn)?;
    if clashes.is_empty() {
        return Ok(());
    }
    let list = clashes
        .iter()
        .map(|g| g.join(" / "))
        .collect::<Vec<_>>()
        .join("; ");
    Err(DbError::Migration(format!(
        "usernames must be unique ignoring case, and these accounts clash: {list}. Rename all but one of each (UPDATE users SET username = … WHERE id = …), then migrate again"
    )))
}
