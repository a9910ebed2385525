//! Per-person preferences that are not profile (issue 19). A person without a row has the
//! defaults.

use diesel::prelude::*;
use domain::UserId;

use crate::schema::user_settings;
use crate::{on_backend, DbConn, DbError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserSettings {
    /// Others in a DM see how far this person has read (only if they share theirs too).
    pub read_receipts: bool,
}

pub fn get(conn: &mut DbConn, user: UserId) -> Result<UserSettings, DbError> {
    let read_receipts: Option<bool> = user_settings::table
        .find(user.0)
        .select(user_settings::read_receipts)
        .first(conn)
        .optional()?;
    Ok(UserSettings {
        read_receipts: read_receipts.unwrap_or(false),
    })
}

pub fn set_read_receipts(conn: &mut DbConn, user: UserId, on: bool) -> Result<(), DbError> {
    on_backend!(conn, |c| diesel::insert_into(user_settings::table)
        .values((
            user_settings::user_id.eq(user.0),
            user_settings::read_receipts.eq(on),
        ))
        .on_conflict(user_settings::user_id)
        .do_update()
        .set(user_settings::read_receipts.eq(on))
        .execute(c))?;
    Ok(())
}
