//! Blocks: a blocked user cannot DM, befriend or be added by the blocker.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::UserId;

use crate::schema::{blocks, messages};
use crate::types::now;
use crate::{on_backend, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = blocks)]
pub struct BlockRow {
    #[diesel(deserialize_as = i64)]
    pub blocker_id: UserId,
    #[diesel(deserialize_as = i64)]
    pub blocked_id: UserId,
    pub created_at: NaiveDateTime,
}

/// Blocks `blocked`; blocking twice is a no-op. Returns whether the block is new.
pub fn block(conn: &mut DbConn, blocker: UserId, blocked: UserId) -> Result<bool, DbError> {
    let at = now();
    let n = on_backend!(conn, |c| diesel::insert_into(blocks::table)
        .values((
            blocks::blocker_id.eq(blocker.0),
            blocks::blocked_id.eq(blocked.0),
            blocks::created_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// Returns whether there was a block to lift.
pub fn unblock(conn: &mut DbConn, blocker: UserId, blocked: UserId) -> Result<bool, DbError> {
    let n = diesel::delete(blocks::table.find((blocker.0, blocked.0))).execute(conn)?;
    Ok(n == 1)
}

/// Whether either user blocked the other: a block works both ways for contact.
pub fn is_blocked_either_way(conn: &mut DbConn, a: UserId, b: UserId) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(
        blocks::table.filter(
            (blocks::blocker_id.eq(a.0).and(blocks::blocked_id.eq(b.0)))
                .or(blocks::blocker_id.eq(b.0).and(blocks::blocked_id.eq(a.0))),
        ),
    ))
    .get_result(conn)?)
}

/// The blocks `blocker` made, newest first.
pub fn list(conn: &mut DbConn, blocker: UserId) -> Result<Vec<BlockRow>, DbError> {
    Ok(blocks::table
        .filter(blocks::blocker_id.eq(blocker.0))
        .order((blocks::created_at.desc(), blocks::blocked_id))
        .select(BlockRow::as_select())
        .load(conn)?)
}

/// The ids `user` has blocked, for filtering lists and search results.
pub fn blocked_by(conn: &mut DbConn, user: UserId) -> Result<Vec<UserId>, DbError> {
    let ids: Vec<i64> = blocks::table
        .filter(blocks::blocker_id.eq(user.0))
        .order(blocks::blocked_id)
        .select(blocks::blocked_id)
        .load(conn)?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// The ids of users who have blocked `user`.
pub fn blockers_of(conn: &mut DbConn, user: UserId) -> Result<Vec<UserId>, DbError> {
    let ids: Vec<i64> = blocks::table
        .filter(blocks::blocked_id.eq(user.0))
        .order(blocks::blocker_id)
        .select(blocks::blocker_id)
        .load(conn)?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// The one block filter over messages (DESIGN §8, issue 13): `viewer` does not see what people
/// they blocked wrote — not live on the socket, not in history, either search, conversation
/// previews or unread counts. AI replies (no author) always pass.
#[diesel::dsl::auto_type(no_type_alias)]
pub fn message_visible_to(viewer: i64) -> _ {
    let blocked_authors: diesel::dsl::Select<
        diesel::dsl::Filter<blocks::table, diesel::dsl::Eq<blocks::blocker_id, i64>>,
        diesel::dsl::Nullable<blocks::blocked_id>,
    > = blocks::table
        .filter(blocks::blocker_id.eq(viewer))
        .select(blocks::blocked_id.nullable());
    messages::author_id.is_null().or(diesel::dsl::not(
        messages::author_id.eq_any(blocked_authors),
    ))
}
