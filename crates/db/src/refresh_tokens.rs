//! Refresh tokens: stored hashed, rotated on every use, revocable by family (DESIGN §8).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::UserId;

use crate::schema::refresh_tokens;
use crate::types::now;
use crate::{DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshTokenRow {
    pub id: i64,
    #[diesel(deserialize_as = i64)]
    pub user_id: UserId,
    pub token_hash: String,
    /// Every token rotated from one login shares this; reuse of any revokes them all.
    pub family_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshTokenRow {
    #[diesel(serialize_as = i64)]
    pub user_id: UserId,
    pub token_hash: String,
    pub family_id: String,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, new: NewRefreshTokenRow) -> Result<RefreshTokenRow, DbError> {
    Ok(diesel::insert_into(refresh_tokens::table)
        .values((new, refresh_tokens::created_at.eq(now())))
        .get_result(conn)?)
}

pub fn find_by_hash(conn: &mut DbConn, hash: &str) -> Result<Option<RefreshTokenRow>, DbError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks the token used if it is still fresh and returns whether this call won.
///
/// One conditional UPDATE, so of two concurrent refreshes with the same token exactly one gets
/// `true`; `false` means the token was already used or revoked — a replay, and the caller
/// revokes the family.
pub fn mark_used(conn: &mut DbConn, id: i64, at: NaiveDateTime) -> Result<bool, DbError> {
    let n = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(at))
    .execute(conn)?;
    Ok(n == 1)
}

/// Revokes every live token of a family; returns how many were revoked.
pub fn revoke_family(
    conn: &mut DbConn,
    family_id: &str,
    at: NaiveDateTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?)
}

/// [`revoke_family`], only if the family is `user_id`'s (a session id from a token cannot end
/// someone else's session).
pub fn revoke_family_of(
    conn: &mut DbConn,
    user_id: UserId,
    family_id: &str,
    at: NaiveDateTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::user_id.eq(user_id.0))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?)
}

/// Logs a user out everywhere (password change, deactivation).
pub fn revoke_all_for_user(
    conn: &mut DbConn,
    user_id: UserId,
    at: NaiveDateTime,
) -> Result<usize, DbError> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id.0))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?)
}

/// Housekeeping: drops tokens that expired before `before`; returns how many.
pub fn delete_expired(conn: &mut DbConn, before: NaiveDateTime) -> Result<usize, DbError> {
    Ok(
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(before)))
            .execute(conn)?,
    )
}
