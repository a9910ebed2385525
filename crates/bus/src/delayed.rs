//! Jobs scheduled for later, and a per-job attempt counter, so a worker can honour a provider's
//! long `retry-after` without holding the job: it schedules the job for then and acknowledges
//! the entry; any worker moves due jobs back onto `llm.jobs`. Both live in Redis, so neither a
//! worker's crash nor a redelivery forgets them.

use std::sync::LazyLock;
use std::time::Duration;

use domain::jobs::LlmJob;
use redis::Script;

use crate::error::BusError;
use crate::Bus;

/// The stream field that holds the job JSON (as in `jobs.rs`).
const JOB_FIELD: &str = "job";

/// Adds a job to the delayed set, due `delay` from the server's clock. KEYS: delayed set.
/// ARGV: delay ms, job JSON.
static SCHEDULE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
return 1
"#,
    )
});

/// Moves up to ARGV[1] due jobs onto the stream; append and removal are one step, so a job is
/// neither lost nor moved twice. KEYS: delayed set, stream. ARGV: max, stream max length, field.
static MOVE_DUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', ARGV[3], job)
  redis.call('ZREM', KEYS[1], job)
end
return #due
"#,
    )
});

/// Counts one attempt and returns the count so far. KEYS: counter. ARGV: ttl seconds.
static COUNT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n
"#,
    )
});

impl Bus {
    /// Puts `job` back on `llm.jobs` once `delay` has passed (by Redis's clock), through
    /// [`Bus::enqueue_due_jobs`].
    pub async fn schedule_job(&self, job: &LlmJob, delay: Duration) -> Result<(), BusError> {
        let json = crate::jobs::encode_job(job, None)?;
        let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        let mut conn = self.conn().await?;
        let _: i64 = SCHEDULE
            .key(self.keys().jobs_delayed())
            .arg(delay_ms)
            .arg(json)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Moves up to `max` scheduled jobs whose time has come onto `llm.jobs`; returns how many.
    pub async fn enqueue_due_jobs(&self, max: usize) -> Result<usize, BusError> {
        let mut conn = self.conn().await?;
        let moved: i64 = MOVE_DUE
            .key(self.keys().jobs_delayed())
            .key(self.keys().jobs())
            .arg(max.max(1))
            .arg(self.config().job_stream_max_len.max(1))
            .arg(JOB_FIELD)
            .invoke_async(&mut conn)
            .await?;
        Ok(usize::try_from(moved).unwrap_or(0))
    }

    /// How many jobs wait in the delayed set.
    pub async fn delayed_jobs(&self) -> Result<u64, BusError> {
        let mut conn = self.conn().await?;
        let n: u64 = redis::cmd("ZCARD")
            .arg(self.keys().jobs_delayed())
            .query_async(&mut conn)
            .await?;
        Ok(n)
    }

    /// Counts one upstream attempt for `job_id` and returns the count so far (1 for the
    /// first). The counter expires `ttl` after its last use.
    pub async fn count_job_attempt(&self, job_id: &str, ttl: Duration) -> Result<u32, BusError> {
        let mut conn = self.conn().await?;
        let n: i64 = COUNT
            .key(self.keys().job_attempts(job_id))
            .arg(ttl.as_secs().max(1))
            .invoke_async(&mut conn)
            .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}
