//! Accounts and profiles.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{Role, UserId};

use crate::schema::users;
use crate::types::{contains_pattern, now, DbEnum};
use crate::{clamp_page, found, DbConn, DbError};

#[derive(Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    #[diesel(deserialize_as = i64)]
    pub id: UserId,
    pub username: String,
    /// Always lower case: emails compare case-insensitively.
    pub email: String,
    pub password_hash: String,
    #[diesel(deserialize_as = DbEnum<Role>)]
    pub role: Role,
    pub is_active: bool,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_active_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for UserRow {
    // Rows end up in logs; the password hash must not.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("is_active", &self.is_active)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUserRow {
    pub username: String,
    pub email: String,
    pub password_hash: String,
    #[diesel(serialize_as = DbEnum<Role>)]
    pub role: Role,
    pub is_active: bool,
    pub display_name: String,
    pub bio: String,
    pub avatar_url: Option<String>,
}

impl NewUserRow {
    /// An active ordinary user whose display name starts as the username.
    pub fn new(username: &str, email: &str, password_hash: &str) -> Self {
        Self {
            username: username.to_owned(),
            email: email.to_owned(),
            password_hash: password_hash.to_owned(),
            role: Role::User,
            is_active: true,
            display_name: username.to_owned(),
            bio: String::new(),
            avatar_url: None,
        }
    }
}

/// Profile fields a user may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    /// `Some(None)` clears the avatar.
    pub avatar_url: Option<Option<String>>,
}

pub fn insert(conn: &mut DbConn, mut new: NewUserRow) -> Result<UserRow, DbError> {
    new.email = new.email.to_lowercase();
    let at = now();
    Ok(diesel::insert_into(users::table)
        .values((new, users::created_at.eq(at), users::updated_at.eq(at)))
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConn, id: UserId) -> Result<UserRow, DbError> {
    Ok(users::table
        .find(id.0)
        .select(UserRow::as_select())
        .first(conn)?)
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// The account of a username, ignoring case (as its unique index does).
pub fn find_by_username(conn: &mut DbConn, username: &str) -> Result<Option<UserRow>, DbError> {
    Ok(users::table
        .filter(lower(users::username).eq(username.to_ascii_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// The account a login name refers to: its username or its email, in any case.
pub fn find_by_login(conn: &mut DbConn, login: &str) -> Result<Option<UserRow>, DbError> {
    Ok(users::table
        .filter(
            lower(users::username)
                .eq(login.to_ascii_lowercase())
                .or(users::email.eq(login.to_lowercase())),
        )
        .order(users::id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn update_profile(
    conn: &mut DbConn,
    id: UserId,
    changes: &UserChanges,
) -> Result<UserRow, DbError> {
    Ok(diesel::update(users::table.find(id.0))
        .set((changes, users::updated_at.eq(now())))
        .get_result(conn)?)
}

/// Replaces the password hash (hashing happens on the caller's blocking task, not here).
pub fn set_password_hash(conn: &mut DbConn, id: UserId, hash: &str) -> Result<(), DbError> {
    let n = diesel::update(users::table.find(id.0))
        .set((users::password_hash.eq(hash), users::updated_at.eq(now())))
        .execute(conn)?;
    found(n)
}

pub fn set_active(conn: &mut DbConn, id: UserId, active: bool) -> Result<UserRow, DbError> {
    Ok(diesel::update(users::table.find(id.0))
        .set((users::is_active.eq(active), users::updated_at.eq(now())))
        .get_result(conn)?)
}

pub fn set_role(conn: &mut DbConn, id: UserId, role: Role) -> Result<UserRow, DbError> {
    Ok(diesel::update(users::table.find(id.0))
        .set((users::role.eq(role.as_str()), users::updated_at.eq(now())))
        .get_result(conn)?)
}

/// Records activity without touching `updated_at` (which tracks profile edits).
pub fn touch_last_active(conn: &mut DbConn, id: UserId, at: NaiveDateTime) -> Result<(), DbError> {
    let n = diesel::update(users::table.find(id.0))
        .set(users::last_active_at.eq(at))
        .execute(conn)?;
    found(n)
}

/// Users whose username or display name contains `query` (case-insensitive), by username.
pub fn search(
    conn: &mut DbConn,
    query: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserRow>, DbError> {
    let (limit, offset) = clamp_page(limit, offset);
    let pattern = contains_pattern(query);
    // PostgreSQL's LIKE is case-sensitive, SQLite's is not (for ASCII): ILIKE on PostgreSQL.
    macro_rules! page {
        ($like:ident) => {
            users::table
                .filter(
                    users::username
                        .$like(&pattern)
                        .escape('\\')
                        .or(users::display_name.$like(&pattern).escape('\\')),
                )
                .order((users::username, users::id))
                .limit(limit)
                .offset(offset)
                .select(UserRow::as_select())
        };
    }
    Ok(match conn {
        DbConn::Postgres(c) => page!(ilike).load(c)?,
        DbConn::Sqlite(c) => page!(like).load(c)?,
    })
}

/// How many users [`search`] would page through.
pub fn count_search(conn: &mut DbConn, query: &str) -> Result<i64, DbError> {
    let pattern = contains_pattern(query);
    macro_rules! count {
        ($like:ident) => {
            users::table
                .filter(
                    users::username
                        .$like(&pattern)
                        .escape('\\')
                        .or(users::display_name.$like(&pattern).escape('\\')),
                )
                .count()
        };
    }
    Ok(match conn {
        DbConn::Postgres(c) => count!(ilike).get_result(c)?,
        DbConn::Sqlite(c) => count!(like).get_result(c)?,
    })
}

pub fn count(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(users::table.count().get_result(conn)?)
}

/// Usernames that differ only in case, grouped (lower-cased name, the accounts' usernames).
/// Empty once the case-insensitive unique index exists.
pub fn case_clashes(conn: &mut DbConn) -> Result<Vec<Vec<String>>, DbError> {
    let names: Vec<String> = users::table
        .select(users::username)
        .order(users::id)
        .load(conn)?;
    let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for name in names {
        groups
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(name);
    }
    Ok(groups.into_values().filter(|g| g.len() > 1).collect())
}
