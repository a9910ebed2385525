//! Friend requests and friendships.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{FriendshipId, FriendshipStatus, UserId};

use crate::schema::friendships;
use crate::types::{now, DbEnum};
use crate::{found, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = friendships)]
pub struct FriendshipRow {
    #[diesel(deserialize_as = i64)]
    pub id: FriendshipId,
    #[diesel(deserialize_as = i64)]
    pub requester_id: UserId,
    #[diesel(deserialize_as = i64)]
    pub addressee_id: UserId,
    /// `"small:large"`: one friendship per pair whoever asked.
    pub pair_key: String,
    #[diesel(deserialize_as = DbEnum<FriendshipStatus>)]
    pub status: FriendshipStatus,
    pub created_at: NaiveDateTime,
    pub responded_at: Option<NaiveDateTime>,
}

impl FriendshipRow {
    /// The other side of the friendship, seen from `me`.
    pub fn other(&self, me: UserId) -> UserId {
        if self.requester_id == me {
            self.addressee_id
        } else {
            self.requester_id
        }
    }
}

fn pair_key(a: UserId, b: UserId) -> String {
    crate::conversations::direct_key(a, b)
}

/// Sends a friend request. Any existing row between the two (a pending request either way, a
/// friendship, a rejection) makes this a `Conflict` on `pair_key`; the caller decides whether
/// to accept the reverse request instead.
pub fn request(conn: &mut DbConn, from: UserId, to: UserId) -> Result<FriendshipRow, DbError> {
    Ok(diesel::insert_into(friendships::table)
        .values((
            friendships::requester_id.eq(from.0),
            friendships::addressee_id.eq(to.0),
            friendships::pair_key.eq(pair_key(from, to)),
            friendships::status.eq(FriendshipStatus::Pending.as_str()),
            friendships::created_at.eq(now()),
        ))
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConn, id: FriendshipId) -> Result<FriendshipRow, DbError> {
    Ok(friendships::table
        .find(id.0)
        .select(FriendshipRow::as_select())
        .first(conn)?)
}

/// The row between `a` and `b` in either direction.
pub fn find_between(
    conn: &mut DbConn,
    a: UserId,
    b: UserId,
) -> Result<Option<FriendshipRow>, DbError> {
    Ok(friendships::table
        .filter(friendships::pair_key.eq(pair_key(a, b)))
        .select(FriendshipRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn are_friends(conn: &mut DbConn, a: UserId, b: UserId) -> Result<bool, DbError> {
    Ok(find_between(conn, a, b)?.is_some_and(|f| f.status == FriendshipStatus::Accepted))
}

fn respond(
    conn: &mut DbConn,
    id: FriendshipId,
    by: UserId,
    status: FriendshipStatus,
) -> Result<FriendshipRow, DbError> {
    Ok(diesel::update(
        friendships::table
            .find(id.0)
            .filter(friendships::addressee_id.eq(by.0))
            .filter(friendships::status.eq(FriendshipStatus::Pending.as_str())),
    )
    .set((
        friendships::status.eq(status.as_str()),
        friendships::responded_at.eq(now()),
    ))
    .get_result(conn)?)
}

/// Accepts a pending request. Only its addressee can: anyone else (the requester included) gets
/// `NotFound`, as does a request that is no longer pending.
pub fn accept(conn: &mut DbConn, id: FriendshipId, by: UserId) -> Result<FriendshipRow, DbError> {
    respond(conn, id, by, FriendshipStatus::Accepted)
}

/// Rejects a pending request; same rules as [`accept`].
pub fn reject(conn: &mut DbConn, id: FriendshipId, by: UserId) -> Result<FriendshipRow, DbError> {
    respond(conn, id, by, FriendshipStatus::Rejected)
}

/// Removes a friendship or withdraws a request.
pub fn delete(conn: &mut DbConn, id: FriendshipId) -> Result<(), DbError> {
    found(diesel::delete(friendships::table.find(id.0)).execute(conn)?)
}

fn involving(
    conn: &mut DbConn,
    user: UserId,
    status: FriendshipStatus,
) -> Result<Vec<FriendshipRow>, DbError> {
    Ok(friendships::table
        .filter(
            friendships::requester_id
                .eq(user.0)
                .or(friendships::addressee_id.eq(user.0)),
        )
        .filter(friendships::status.eq(status.as_str()))
        .order(friendships::id)
        .select(FriendshipRow::as_select())
        .load(conn)?)
}

/// The user's friendships (either side asked).
pub fn list_accepted(conn: &mut DbConn, user: UserId) -> Result<Vec<FriendshipRow>, DbError> {
    involving(conn, user, FriendshipStatus::Accepted)
}

/// Pending requests sent to the user.
pub fn list_incoming(conn: &mut DbConn, user: UserId) -> Result<Vec<FriendshipRow>, DbError> {
    Ok(friendships::table
        .filter(friendships::addressee_id.eq(user.0))
        .filter(friendships::status.eq(FriendshipStatus::Pending.as_str()))
        .order(friendships::id)
        .select(FriendshipRow::as_select())
        .load(conn)?)
}

/// Pending requests the user sent.
pub fn list_outgoing(conn: &mut DbConn, user: UserId) -> Result<Vec<FriendshipRow>, DbError> {
    Ok(friendships::table
        .filter(friendships::requester_id.eq(user.0))
        .filter(friendships::status.eq(FriendshipStatus::Pending.as_str()))
        .order(friendships::id)
        .select(FriendshipRow::as_select())
        .load(conn)?)
}
