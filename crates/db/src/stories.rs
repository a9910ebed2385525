//! Stories: a user's prompt turned into a long text by a background AI job.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{CharacterId, StoryId, StoryStatus, UserId};

use crate::schema::stories;
use crate::types::{now, DbEnum, Json, JsonText};
use crate::{clamp_page, found, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = stories)]
pub struct StoryRow {
    #[diesel(deserialize_as = i64)]
    pub id: StoryId,
    #[diesel(deserialize_as = i64)]
    pub user_id: UserId,
    pub title: String,
    pub prompt: String,
    pub content: String,
    #[diesel(deserialize_as = Json<Vec<CharacterId>>)]
    pub character_ids: Vec<CharacterId>,
    #[diesel(deserialize_as = DbEnum<StoryStatus>)]
    pub status: StoryStatus,
    pub job_id: Option<String>,
    pub model: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = stories)]
pub struct NewStoryRow {
    #[diesel(serialize_as = i64)]
    pub user_id: UserId,
    pub title: String,
    pub prompt: String,
    #[diesel(serialize_as = JsonText)]
    pub character_ids: Vec<CharacterId>,
}

/// The final state of a story's generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryResult {
    pub content: String,
    /// `Complete` or `Failed`.
    pub status: StoryStatus,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
}

/// Stores a story waiting for generation (`pending`, empty content).
pub fn insert(conn: &mut DbConn, new: NewStoryRow) -> Result<StoryRow, DbError> {
    let at = now();
    Ok(diesel::insert_into(stories::table)
        .values((
            new,
            stories::status.eq(StoryStatus::Pending.as_str()),
            stories::content.eq(""),
            stories::created_at.eq(at),
            stories::updated_at.eq(at),
        ))
        .get_result(conn)?)
}

pub fn find(conn: &mut DbConn, id: StoryId) -> Result<StoryRow, DbError> {
    Ok(stories::table
        .find(id.0)
        .select(StoryRow::as_select())
        .first(conn)?)
}

pub fn find_by_job_id(conn: &mut DbConn, job_id: &str) -> Result<Option<StoryRow>, DbError> {
    Ok(stories::table
        .filter(stories::job_id.eq(job_id))
        .select(StoryRow::as_select())
        .first(conn)
        .optional()?)
}

/// The user's stories, newest first.
pub fn list_for_user(
    conn: &mut DbConn,
    user: UserId,
    limit: i64,
    offset: i64,
) -> Result<Vec<StoryRow>, DbError> {
    let (limit, offset) = clamp_page(limit, offset);
    Ok(stories::table
        .filter(stories::user_id.eq(user.0))
        .order(stories::id.desc())
        .limit(limit)
        .offset(offset)
        .select(StoryRow::as_select())
        .load(conn)?)
}

/// Records the job that will generate the story; it stays `pending` until a worker starts it
/// ([`mark_streaming`]).
pub fn set_job(
    conn: &mut DbConn,
    id: StoryId,
    job_id: &str,
    model: &str,
) -> Result<StoryRow, DbError> {
    Ok(diesel::update(stories::table.find(id.0))
        .set((
            stories::job_id.eq(job_id),
            stories::model.eq(model),
            stories::updated_at.eq(now()),
        ))
        .get_result(conn)?)
}

/// A worker started generating the story for `job_id`: `pending` → `streaming`. Only a story
/// still waiting for that job moves (a finished or re-queued story is left as it is); returns
/// whether it moved.
pub fn mark_streaming(conn: &mut DbConn, id: StoryId, job_id: &str) -> Result<bool, DbError> {
    let moved = diesel::update(
        stories::table
            .find(id.0)
            .filter(stories::job_id.eq(job_id))
            .filter(stories::status.eq(StoryStatus::Pending.as_str())),
    )
    .set((
        stories::status.eq(StoryStatus::Streaming.as_str()),
        stories::updated_at.eq(now()),
    ))
    .execute(conn)?;
    Ok(moved == 1)
}

/// Stores the generated text and final status. Completing again overwrites with the same result,
/// so a retried job is harmless.
pub fn complete(conn: &mut DbConn, id: StoryId, result: &StoryResult) -> Result<StoryRow, DbError> {
    Ok(diesel::update(stories::table.find(id.0))
        .set((
            stories::content.eq(&result.content),
            stories::status.eq(result.status.as_str()),
            stories::prompt_tokens.eq(result.prompt_tokens),
            stories::completion_tokens.eq(result.completion_tokens),
            stories::updated_at.eq(now()),
        ))
        .get_result(conn)?)
}

pub fn delete(conn: &mut DbConn, id: StoryId) -> Result<(), DbError> {
    found(diesel::delete(stories::table.find(id.0)).execute(conn)?)
}
