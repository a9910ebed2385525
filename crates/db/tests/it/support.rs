//! Fresh databases per test and small fixtures.

use db::conversations::{self, ConversationRow, NewConversationRow};
use db::messages::{self, MessageRow, NewMessageRow};
use db::users::{self, NewUserRow, UserRow};
use db::{DbConn, DbError, DbPool};
use domain::{ConversationId, ConversationKind, MemberRole, UserId};
use testkit::{PgCluster, TestDatabase, TestSqlite};

/// A pool on a fresh PostgreSQL database copied from a migrated template.
pub async fn pg_pool() -> (DbPool, TestDatabase) {
    let database = PgCluster::shared().database_from_template("db", |url| {
        let mut conn = db::establish(url).expect("connect to the template");
        db::run_migrations(&mut conn).expect("migrate the template");
    });
    let pool = db::connect(&database.url(), 2).await.expect("pool");
    (pool, database)
}

/// A pool on a fresh, migrated SQLite file.
pub async fn sqlite_pool() -> (DbPool, TestSqlite) {
    let file = TestSqlite::new();
    let pool = db::connect(&file.url(), 2).await.expect("pool");
    db::migrate(&pool).await.expect("migrate");
    (pool, file)
}

/// Defines `$name::postgres` and `$name::sqlite`, each running the synchronous `$body` with a
/// `&mut DbConn` of its backend through `db::run` (the path production code takes). The body may
/// use `?` on `DbError`.
macro_rules! both_backends {
    ($name:ident, |$conn:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($conn: &mut db::DbConn) -> Result<(), db::DbError> {
                $body
                Ok(())
            }

            #[tokio::test]
            async fn postgres() {
                let (pool, database) = $crate::support::pg_pool().await;
                db::run(&pool, body).await.unwrap();
                drop(pool);
                drop(database);
            }

            #[tokio::test]
            async fn sqlite() {
                let (pool, file) = $crate::support::sqlite_pool().await;
                db::run(&pool, body).await.unwrap();
                drop(pool);
                drop(file);
            }
        }
    };
}

pub fn user(c: &mut DbConn, name: &str) -> Result<UserRow, DbError> {
    users::insert(
        c,
        NewUserRow::new(name, &format!("{name}@example.com"), "$2b$04$hash"),
    )
}

/// A conversation of `kind` with `owner` as its owner member.
pub fn conversation(
    c: &mut DbConn,
    kind: ConversationKind,
    owner: UserId,
) -> Result<ConversationRow, DbError> {
    conversations::insert_with_members(
        c,
        NewConversationRow::new(kind, Some(owner)),
        &[(owner, MemberRole::Owner)],
    )
}

pub fn say(
    c: &mut DbConn,
    conversation: ConversationId,
    author: UserId,
    text: &str,
) -> Result<MessageRow, DbError> {
    messages::insert(c, NewMessageRow::user(conversation, author, text))
}

/// Deletes a user directly, to observe cascades (the product deactivates instead).
pub fn delete_user(c: &mut DbConn, id: UserId) -> Result<(), DbError> {
    use diesel::prelude::*;
    diesel::delete(db::schema::users::table.find(id.0)).execute(c)?;
    Ok(())
}
