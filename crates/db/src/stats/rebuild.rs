//! Recomputing the counters from stored messages.

use crate::types::now;
use crate::{transaction, Backend, DbConn, DbError};

use super::sql::{execute, sum, Arg};

/// What [`rebuild_from_messages`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RebuildReport {
    pub activity_rows: usize,
    pub generation_rows: usize,
    pub character_rows: usize,
    pub monthly_rows: usize,
    pub ledger_rows: usize,
}

/// Recomputes the counters from the stored messages, in bulk SQL: after upgrading a deployment
/// that has messages from before the roll-ups, or to build benchmark data. Latency cannot be
/// recovered from messages, so `latency_daily` is left as it is; every stored message and job is
/// put in the ledger so a later retry does not count it again. Run it while no messages are
/// being sent (it replaces the counters in one transaction).
pub fn rebuild_from_messages(conn: &mut DbConn) -> Result<RebuildReport, DbError> {
    let backend = conn.backend();
    // provider_of() and month_start() in SQL.
    let (provider, month_of_day, day_bit) = match backend {
        Backend::Postgres => (
            "split_part(model, '/', 1)",
            "CAST(date_trunc('month', day) AS DATE)",
            "(CAST(1 AS BIGINT) << (CAST(EXTRACT(DAY FROM day) AS INTEGER) - 1))",
        ),
        Backend::Sqlite => (
            "CASE WHEN instr(model, '/') > 0 THEN substr(model, 1, instr(model, '/') - 1) \
             ELSE model END",
            "date(day, 'start of month')",
            "(1 << (CAST(strftime('%d', day) AS INTEGER) - 1))",
        ),
    };
    // A generation is an assistant message with a job id in a final state.
    const GENERATION: &str = "r.role = 'assistant' AND r.job_id IS NOT NULL \
        AND r.status IN ('complete', 'failed', 'cancelled')";
    transaction(conn, |conn| {
        for table in [
            "daily_stats",
            "day_stats",
            "character_daily",
            "user_activity_daily",
            "user_monthly",
        ] {
            execute(conn, &format!("DELETE FROM {table}"), vec![])?;
        }
        let activity_rows = execute(
            conn,
            &format!(
                "INSERT INTO user_activity_daily (day, user_id, messages, replies) \
                 SELECT day, user_id, {}, {} FROM ( \
                   SELECT date(m.created_at) AS day, m.author_id AS user_id, 1 AS messages, \
                          0 AS replies \
                   FROM messages m WHERE m.role = 'user' AND m.author_id IS NOT NULL \
                   UNION ALL \
                   SELECT date(r.created_at), t.author_id, 0, \
                          CASE WHEN r.status = 'complete' THEN 1 ELSE 0 END \
                   FROM messages r JOIN messages t ON t.id = r.reply_to_id \
                   WHERE {GENERATION} AND t.author_id IS NOT NULL \
                 ) a GROUP BY day, user_id",
                sum("messages"),
                sum("replies")
            ),
            vec![],
        )?;
        execute(
            conn,
            &format!(
                "INSERT INTO day_stats (day, shard, user_messages, active_users) \
                 SELECT day, 0, {}, COUNT(*) FROM user_activity_daily GROUP BY day",
                sum("messages")
            ),
            vec![],
        )?;
        let generation_rows = execute(
            conn,
            &format!(
                "INSERT INTO daily_stats (day, model, provider, shard, generations_ok, \
                   generations_failed, generations_cancelled, prompt_tokens, completion_tokens) \
                 SELECT day, model, {provider}, 0, {}, {}, {}, {}, {} FROM ( \
                   SELECT date(r.created_at) AS day, COALESCE(r.model, 'unknown') AS model, \
                          r.status AS status, COALESCE(r.prompt_tokens, 0) AS p, \
                          COALESCE(r.completion_tokens, 0) AS c \
                   FROM messages r WHERE {GENERATION} \
                 ) g GROUP BY day, model",
                sum("CASE WHEN status = 'complete' THEN 1 ELSE 0 END"),
                sum("CASE WHEN status = 'failed' THEN 1 ELSE 0 END"),
                sum("CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END"),
                sum("p"),
                sum("c")
            ),
            vec![],
        )?;
        let character_rows = execute(
            conn,
            "INSERT INTO character_daily (day, character_id, messages) \
             SELECT day, character_id, COUNT(*) FROM ( \
               SELECT date(m.created_at) AS day, c.character_id AS character_id \
               FROM messages m JOIN conversations c ON c.id = m.conversation_id \
               WHERE m.role = 'user' AND m.author_id IS NOT NULL AND c.character_id IS NOT NULL \
               UNION ALL \
               SELECT date(r.created_at), r.character_id FROM messages r \
               WHERE r.role = 'assistant' AND r.job_id IS NOT NULL AND r.status = 'complete' \
                 AND r.character_id IS NOT NULL \
             ) x GROUP BY day, character_id",
            vec![],
        )?;
        let monthly_rows = execute(
            conn,
            &format!(
                "INSERT INTO user_monthly (month_start, user_id, messages, replies, \
                   prompt_tokens, completion_tokens, active_days) \
                 SELECT month_start, user_id, {}, {}, {}, {}, {} FROM ( \
                   SELECT {month_of_day} AS month_start, user_id, messages, replies, \
                          0 AS p, 0 AS c, {day_bit} AS bit FROM user_activity_daily \
                   UNION ALL \
                   SELECT {month_of_day} AS month_start, user_id, 0, 0, p, c, 0 FROM ( \
                     SELECT date(r.created_at) AS day, t.author_id AS user_id, \
                            COALESCE(r.prompt_tokens, 0) AS p, \
                            COALESCE(r.completion_tokens, 0) AS c \
                     FROM messages r JOIN messages t ON t.id = r.reply_to_id \
                     WHERE {GENERATION} AND t.author_id IS NOT NULL \
                   ) g \
                 ) x GROUP BY month_start, user_id",
                sum("messages"),
                sum("replies"),
                sum("p"),
                sum("c"),
                // Days are distinct per user and month here, so the sum of their bits is their OR.
                sum("bit")
            ),
            vec![],
        )?;
        let at = now();
        let mut ledger_rows = execute(
            conn,
            "INSERT INTO stats_ledger (event_key, recorded_at) \
             SELECT 'msg:' || m.id, ? FROM messages m \
             WHERE m.role = 'user' AND m.author_id IS NOT NULL \
             ON CONFLICT DO NOTHING",
            vec![Arg::Ts(at)],
        )?;
        ledger_rows += execute(
            conn,
            &format!(
                "INSERT INTO stats_ledger (event_key, recorded_at) \
                 SELECT 'gen:' || r.job_id, ? FROM messages r WHERE {GENERATION} \
                 ON CONFLICT DO NOTHING"
            ),
            vec![Arg::Ts(at)],
        )?;
        Ok(RebuildReport {
            activity_rows,
            generation_rows,
            character_rows,
            monthly_rows,
            ledger_rows,
        })
    })
}
