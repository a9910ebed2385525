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

/// The blocking form, for test templates and tools that hold a plain connection.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, DbError> {
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
