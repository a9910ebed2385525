//! Common prompts: ordered, individually enabled snippets put in front of every AI prompt.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::PromptId;

use crate::schema::common_prompts;
use crate::types::now;
use crate::{found, transaction, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = common_prompts)]
pub struct PromptRow {
    #[diesel(deserialize_as = i64)]
    pub id: PromptId,
    pub name: String,
    pub content: String,
    pub position: i32,
    pub is_enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = common_prompts)]
pub struct NewPromptRow {
    pub name: String,
    pub content: String,
    pub is_enabled: bool,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = common_prompts)]
pub struct PromptChanges {
    pub name: Option<String>,
    pub content: Option<String>,
    pub is_enabled: Option<bool>,
}

/// Every prompt in prompt order.
pub fn list(conn: &mut DbConn) -> Result<Vec<PromptRow>, DbError> {
    Ok(common_prompts::table
        .order((common_prompts::position, common_prompts::id))
        .select(PromptRow::as_select())
        .load(conn)?)
}

/// The prompts that go into a prompt, in order.
pub fn list_enabled(conn: &mut DbConn) -> Result<Vec<PromptRow>, DbError> {
    Ok(common_prompts::table
        .filter(common_prompts::is_enabled.eq(true))
        .order((common_prompts::position, common_prompts::id))
        .select(PromptRow::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut DbConn, id: PromptId) -> Result<PromptRow, DbError> {
    Ok(common_prompts::table
        .find(id.0)
        .select(PromptRow::as_select())
        .first(conn)?)
}

/// Appends a prompt after the last one.
pub fn insert(conn: &mut DbConn, new: NewPromptRow) -> Result<PromptRow, DbError> {
    transaction(conn, |conn| {
        let last: Option<i32> = common_prompts::table
            .select(diesel::dsl::max(common_prompts::position))
            .first(conn)?;
        let at = now();
        Ok(diesel::insert_into(common_prompts::table)
            .values((
                new,
                common_prompts::position.eq(last.map_or(0, |p| p + 1)),
                common_prompts::created_at.eq(at),
                common_prompts::updated_at.eq(at),
            ))
            .get_result(conn)?)
    })
}

pub fn update(
    conn: &mut DbConn,
    id: PromptId,
    changes: &PromptChanges,
) -> Result<PromptRow, DbError> {
    Ok(diesel::update(common_prompts::table.find(id.0))
        .set((changes, common_prompts::updated_at.eq(now())))
        .get_result(conn)?)
}

pub fn delete(conn: &mut DbConn, id: PromptId) -> Result<(), DbError> {
    found(diesel::delete(common_prompts::table.find(id.0)).execute(conn)?)
}

/// Puts the listed prompts first, in the given order; prompts left out keep their relative order
/// after them, so a client with a stale list cannot lose a prompt. An unknown id is `NotFound`
/// and nothing changes.
pub fn reorder(conn: &mut DbConn, ids: &[PromptId]) -> Result<(), DbError> {
    transaction(conn, |conn| {
        let current: Vec<i64> = common_prompts::table
            .order((common_prompts::position, common_prompts::id))
            .select(common_prompts::id)
            .load(conn)?;
        if ids.iter().any(|id| !current.contains(&id.0)) {
            return Err(DbError::NotFound);
        }
        let mut order: Vec<i64> = Vec::with_capacity(current.len());
        for id in ids.iter().map(|id| id.0).chain(current.iter().copied()) {
            if !order.contains(&id) {
                order.push(id);
            }
        }
        for (position, id) in order.into_iter().enumerate() {
            let position = i32::try_from(position).unwrap_or(i32::MAX);
            diesel::update(common_prompts::table.find(id))
                .set(common_prompts::position.eq(position))
                .execute(conn)?;
        }
        Ok(())
    })
}
