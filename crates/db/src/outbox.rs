//! The job outbox (DESIGN §4, issue 14): a generation job stored in the same transaction as the
//! message or story it answers, so the database — not Redis — remembers what was accepted.
//! Each llm-worker's relay reads the rows whose job Redis may have lost, puts them on the stream
//! again, and removes rows whose reply is finished or that outlived the retention period.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::jobs::LlmJob;

use crate::schema::{job_outbox, messages};
use crate::types::now;
use crate::{on_backend, DbConn, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = job_outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub job_id: String,
    /// The job as JSON, exactly as it is put on `llm.jobs` (a [`domain::jobs::TracedJob`]: with
    /// the trace context of the transaction that stored it, when traced).
    pub payload: String,
    pub created_at: NaiveDateTime,
    /// When a relay last put the job on the stream again (never by the fast path).
    pub relayed_at: Option<NaiveDateTime>,
    /// How often a relay put it on the stream again.
    pub relays: i32,
}

/// Stores a job; storing the same job id again is a no-op (a retried send). Call it inside the
/// transaction that stores what the job answers. Returns whether the row is new. The row keeps
/// the current span's trace context, so a job relayed later still belongs to its request's trace.
pub fn insert(conn: &mut DbConn, job: &LlmJob) -> Result<bool, DbError> {
    let traced = domain::jobs::TracedJob {
        job: job.clone(),
        trace: domain::trace::TraceContext::current(),
    };
    let payload =
        serde_json::to_string(&traced).map_err(|e| DbError::Encode(format!("job: {e}")))?;
    let (job_id, payload) = (job.job_id.as_str(), payload.as_str());
    let at = now();
    let n = on_backend!(conn, |c| diesel::insert_into(job_outbox::table)
        .values((
            job_outbox::job_id.eq(job_id),
            job_outbox::payload.eq(payload),
            job_outbox::created_at.eq(at),
            job_outbox::relays.eq(0),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// Up to `limit` rows the relay should look at, oldest first: stored before `before` and not
/// relayed since then (a row relayed a moment ago is given time to be read).
pub fn due(
    conn: &mut DbConn,
    before: NaiveDateTime,
    limit: i64,
) -> Result<Vec<OutboxRow>, DbError> {
    Ok(job_outbox::table
        .filter(job_outbox::created_at.lt(before))
        .filter(
            job_outbox::relayed_at
                .is_null()
                .or(job_outbox::relayed_at.lt(before)),
        )
        .order(job_outbox::id.asc())
        .limit(limit.clamp(0, 1000))
        .select(OutboxRow::as_select())
        .load(conn)?)
}

/// Records that a relay put the job on the stream again.
pub fn mark_relayed(conn: &mut DbConn, id: i64) -> Result<(), DbError> {
    diesel::update(job_outbox::table.find(id))
        .set((
            job_outbox::relayed_at.eq(now()),
            job_outbox::relays.eq(job_outbox::relays + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the job is still in the outbox (it may yet be relayed).
pub fn contains(conn: &mut DbConn, job_id: &str) -> Result<bool, DbError> {
    Ok(job_outbox::table
        .filter(job_outbox::job_id.eq(job_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Removes a job whose reply is finished. Removing a missing job is a no-op.
pub fn remove(conn: &mut DbConn, job_id: &str) -> Result<(), DbError> {
    diesel::delete(job_outbox::table.filter(job_outbox::job_id.eq(job_id))).execute(conn)?;
    Ok(())
}

/// Removes rows stored before `cutoff`, finished or not; returns how many.
pub fn remove_older_than(conn: &mut DbConn, cutoff: NaiveDateTime) -> Result<usize, DbError> {
    Ok(
        diesel::delete(job_outbox::table.filter(job_outbox::created_at.lt(cutoff)))
            .execute(conn)?,
    )
}

/// Assistant replies still `streaming` that were started before `before`, oldest first: the
/// candidates for the stuck-reply sweep.
pub fn streaming_replies_before(
    conn: &mut DbConn,
    before: NaiveDateTime,
    limit: i64,
) -> Result<Vec<crate::messages::MessageRow>, DbError> {
    Ok(messages::table
        .filter(messages::status.eq(domain::MessageStatus::Streaming.as_str()))
        .filter(messages::job_id.is_not_null())
        .filter(messages::created_at.lt(before))
        .order(messages::id.asc())
        .limit(limit.clamp(0, 1000))
        .select(crate::messages::MessageRow::as_select())
        .load(conn)?)
}

/// Marks a reply `failed` if it is still `streaming`; returns whether this call did (several
/// workers sweep at once: only the one that changed the row tells the client).
pub fn fail_if_streaming(
    conn: &mut DbConn,
    id: domain::MessageId,
) -> Result<Option<crate::messages::MessageRow>, DbError> {
    Ok(diesel::update(
        messages::table
            .find(id.0)
            .filter(messages::status.eq(domain::MessageStatus::Streaming.as_str())),
    )
    .set(messages::status.eq(domain::MessageStatus::Failed.as_str()))
    .get_result(conn)
    .optional()?)
}
