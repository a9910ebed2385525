//! Personas: who a user speaks as (name, description, avatar); at most one default per user.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{PersonaId, UserId};

use crate::schema::personas;
use crate::types::now;
use crate::{found, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = personas)]
pub struct PersonaRow {
    #[diesel(deserialize_as = i64)]
    pub id: PersonaId,
    #[diesel(deserialize_as = i64)]
    pub user_id: UserId,
    pub name: String,
    pub description: String,
    pub avatar_url: Option<String>,
    pub is_default: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Fields of a new persona or of an update (`None` leaves a field as it is).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = personas)]
pub struct PersonaChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<Option<String>>,
}

/// Stores a persona; the user's first one becomes the default.
pub fn insert(
    conn: &mut DbConn,
    user: UserId,
    name: &str,
    description: &str,
    avatar_url: Option<&str>,
) -> Result<PersonaRow, DbError> {
    let at = now();
    let has_default = personas::table
        .filter(personas::user_id.eq(user.0))
        .filter(personas::is_default.eq(true))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    Ok(diesel::insert_into(personas::table)
        .values((
            personas::user_id.eq(user.0),
            personas::name.eq(name),
            personas::description.eq(description),
            personas::avatar_url.eq(avatar_url),
            personas::is_default.eq(!has_default),
            personas::created_at.eq(at),
            personas::updated_at.eq(at),
        ))
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConn, id: PersonaId) -> Result<PersonaRow, DbError> {
    Ok(personas::table
        .find(id.0)
        .select(PersonaRow::as_select())
        .first(conn)?)
}

/// The persona if it is `user`'s; `None` for another user's or a missing one.
pub fn find_owned(
    conn: &mut DbConn,
    id: PersonaId,
    user: UserId,
) -> Result<Option<PersonaRow>, DbError> {
    Ok(personas::table
        .find(id.0)
        .filter(personas::user_id.eq(user.0))
        .select(PersonaRow::as_select())
        .first(conn)
        .optional()?)
}

/// A user's personas, oldest first.
pub fn list(conn: &mut DbConn, user: UserId) -> Result<Vec<PersonaRow>, DbError> {
    Ok(personas::table
        .filter(personas::user_id.eq(user.0))
        .order(personas::id.asc())
        .limit(1000)
        .select(PersonaRow::as_select())
        .load(conn)?)
}

pub fn default_for(conn: &mut DbConn, user: UserId) -> Result<Option<PersonaRow>, DbError> {
    Ok(personas::table
        .filter(personas::user_id.eq(user.0))
        .filter(personas::is_default.eq(true))
        .select(PersonaRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn update(
    conn: &mut DbConn,
    id: PersonaId,
    changes: &PersonaChanges,
) -> Result<PersonaRow, DbError> {
    Ok(diesel::update(personas::table.find(id.0))
        .set((changes, personas::updated_at.eq(now())))
        .get_result(conn)?)
}

/// Makes `id` the user's only default (in one transaction, so the unique index never sees two).
pub fn set_default(conn: &mut DbConn, user: UserId, id: PersonaId) -> Result<(), DbError> {
    crate::transaction(conn, |c| {
        diesel::update(
            personas::table
                .filter(personas::user_id.eq(user.0))
                .filter(personas::is_default.eq(true)),
        )
        .set(personas::is_default.eq(false))
        .execute(c)?;
        found(
            diesel::update(
                personas::table
                    .find(id.0)
                    .filter(personas::user_id.eq(user.0)),
            )
            .set(personas::is_default.eq(true))
            .execute(c)?,
        )
    })
}

/// Deletes a persona; conversations locked to it fall back to the default (their lock rows go
/// with it, by cascade).
pub fn delete(conn: &mut DbConn, id: PersonaId) -> Result<(), DbError> {
    found(diesel::delete(personas::table.find(id.0)).execute(conn)?)
}
