//! The job stream (DESIGN §4): `llm.jobs`, read by consumer groups. Workers read with
//! `XREADGROUP`, acknowledge once the reply is persisted, refresh long jobs with [`JobConsumer::touch`]
//! so they are not stolen, take over the jobs of dead workers with [`JobConsumer::reclaim`], and
//! dead-letter jobs that keep failing (or cannot be decoded) instead of retrying them forever.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use domain::jobs::{LlmJob, TracedJob};
use domain::trace::TraceContext;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use redis::{Script, Value};
use tokio::sync::Mutex;

use crate::error::{decode_err, BusError};
use crate::Bus;

/// The stream field that holds the job JSON.
const JOB_FIELD: &str = "job";

/// A job handed to this consumer. Acknowledge it with [`JobConsumer::ack`] once done.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDelivery {
    /// The stream entry id: what `ack` and `touch` take.
    pub id: String,
    pub job: LlmJob,
    /// How many times the entry has been delivered, this time included (1 on the first read).
    pub deliveries: u32,
    /// The trace context of the request that enqueued the job, when it was traced: the
    /// worker's job span is its child (issue 23).
    pub trace: Option<TraceContext>,
}

impl AsRef<str> for JobDelivery {
    fn as_ref(&self) -> &str {
        &self.id
    }
}

/// An entry moved to the dead-letter stream `llm.jobs.dead`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The id the entry had on the job stream.
    pub id: String,
    pub reason: String,
    pub deliveries: u32,
    /// The raw entry payload (empty if the entry no longer existed).
    pub payload: String,
    /// The decoded job, when the payload was decodable — so the worker can tell the client.
    pub job: Option<LlmJob>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReclaimResult {
    /// Entries taken over from idle consumers; process them like fresh deliveries.
    pub claimed: Vec<JobDelivery>,
    /// Entries dead-lettered (and acknowledged) instead.
    pub dead: Vec<DeadLetter>,
}

/// Operational view of one consumer group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub name: String,
    pub consumers: u64,
    /// Delivered but not yet acknowledged.
    pub pending: u64,
    /// Entries not yet delivered to the group (`None` when Redis cannot tell).
    pub lag: Option<u64>,
    pub last_delivered_id: String,
}

/// Resets the idle time of an entry and renews its lease, but only while `consumer` still owns
/// it: a job another worker already took over (or acknowledged, or dead-lettered) stays with
/// that worker. An entry Redis no longer has at all (a restart without its data, an older
/// snapshot restored) is nobody else's either: the running worker keeps it, or the job would be
/// abandoned while its memory marker keeps the outbox relay and the stuck-reply sweeper away.
/// The lease key shares the stream's slot (see `Keys::job_lease`). KEYS: stream, lease. ARGV:
/// group, consumer, id, lease ms.
static TOUCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 then
  if #redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3]) > 0 then return 0 end
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
  return 1
end
if p[1][2] ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
return 1
"#,
    )
});

/// How long the bus remembers a job id it put on `llm.jobs` (longer than any client retries a
/// send; the job outbox keeps its rows at most this long, so an expired memory never makes a
/// relay repeat an old job).
pub const JOB_MEMORY: Duration = Duration::from_secs(24 * 3600);

impl Bus {
    /// Whether Redis knows the job `job_id`: it was put on `llm.jobs` by
    /// [`Bus::enqueue_job_once`] or a worker has taken it up ([`Bus::remember_job`]) within
    /// [`JOB_MEMORY`]. False after Redis lost its data — the job outbox's cue to put it again.
    pub async fn job_known(&self, job_id: &str) -> Result<bool, BusError> {
        let mut conn = self.conn().await?;
        let n: u64 = redis::cmd("EXISTS")
            .arg(self.keys().job_enqueued(job_id))
            .query_async(&mut conn)
            .await?;
        Ok(n == 1)
    }

    /// Marks `job_id` as known for `remember` (a worker taking up a job enqueued without
    /// [`Bus::enqueue_job_once`]), so sweepers do not take a live job for a lost one.
    pub async fn remember_job(&self, job_id: &str, remember: Duration) -> Result<(), BusError> {
        let mut conn = self.conn().await?;
        let _: Option<String> = redis::cmd("SET")
            .arg(self.keys().job_enqueued(job_id))
            .arg("1")
            .arg("NX")
            .arg("EX")
            .arg(remember.as_secs().max(1))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Enqueues `job` unless a job with the same id was enqueued in the last `remember`; returns
    /// whether it was enqueued now. Check and append are one script, so a retried request that
    /// races the first never enqueues twice, and a request that crashed before enqueueing is
    /// healed by its retry.
    ///
    /// The entry carries the current span's trace context (see [`TracedJob`]).
    pub async fn enqueue_job_once(
        &self,
        job: &LlmJob,
        remember: std::time::Duration,
    ) -> Result<bool, BusError> {
        self.enqueue_traced_job_once(job, None, remember).await
    }

    /// [`Bus::enqueue_job_once`] with the trace context the job was accepted under (a job
    /// relayed from the outbox keeps the request's), else the current span's.
    #[tracing::instrument(name = "bus.enqueue_job", skip_all, fields(otel.kind = "producer", job_id = %job.job_id))]
    pub async fn enqueue_traced_job_once(
        &self,
        job: &LlmJob,
        trace: Option<TraceContext>,
        remember: std::time::Duration,
    ) -> Result<bool, BusError> {
        static SCRIPT: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
            redis::Script::new(
                r"
                if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
                redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[3])
                redis.call('SET', KEYS[2], '1', 'EX', ARGV[4])
                return 1
                ",
            )
        });
        let json = encode_job(job, trace)?;
        let mut conn = self.conn().await?;
        let added: i64 = SCRIPT
            .key(self.keys().jobs())
            .key(self.keys().job_enqueued(&job.job_id))
            .arg(self.config().job_stream_max_len.max(1))
            .arg(JOB_FIELD)
            .arg(json)
            .arg(remember.as_secs().max(1))
            .invoke_async(&mut conn)
            .await?;
        Ok(added == 1)
    }

    /// Appends a job to `llm.jobs`; returns its stream id.
    #[tracing::instrument(name = "bus.enqueue_job", skip_all, fields(otel.kind = "producer", job_id = %job.job_id))]
    pub async fn enqueue_job(&self, job: &LlmJob) -> Result<String, BusError> {
        let json = encode_job(job, None)?;
        let mut conn = self.conn().await?;
        let id: String = redis::cmd("XADD")
            .arg(self.keys().jobs())
            .arg("MAXLEN")
            .arg("~")
            .arg(self.config().job_stream_max_len.max(1))
            .arg("*")
            .arg(JOB_FIELD)
            .arg(json)
            .query_async(&mut conn)
            .await?;
        Ok(id)
    }

    /// A consumer `consumer` in group `group` (created if missing). Blocking reads use a
    /// connection of their own; everything else goes through the pool.
    pub async fn job_consumer(&self, group: &str, consumer: &str) -> Result<JobConsumer, BusError> {
        let jc = JobConsumer {
            bus: self.clone(),
            stream: self.keys().jobs(),
            dead: self.keys().jobs_dead(),
            group: group.to_owned(),
            consumer: consumer.to_owned(),
            blocking: Arc::new(Mutex::new(None)),
        };
        jc.ensure_group().await?;
        Ok(jc)
    }

    /// `XLEN` of a stream named without the prefix (`"llm.jobs"`, `"llm.jobs.dead"`).
    pub async fn stream_len(&self, name: &str) -> Result<u64, BusError> {
        let mut conn = self.conn().await?;
        let n: u64 = redis::cmd("XLEN")
            .arg(self.keys().stream(name))
            .query_async(&mut conn)
            .await?;
        Ok(n)
    }

    /// The consumer groups of `llm.jobs` with their pending count and lag.
    pub async fn consumer_group_info(&self) -> Result<Vec<GroupInfo>, BusError> {
        let mut conn = self.conn().await?;
        let reply: Result<redis::streams::StreamInfoGroupsReply, _> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(self.keys().jobs())
            .query_async(&mut conn)
            .await;
        let reply = match reply {
            Ok(r) => r,
            // No stream yet: no groups.
            Err(e) if e.detail().is_some_and(|d| d.contains("no such key")) => {
                return Ok(Vec::new())
            }
            Err(e) => return Err(e.into()),
        };
        Ok(reply
            .groups
            .into_iter()
            .map(|g| GroupInfo {
                name: g.name,
                consumers: g.consumers as u64,
                pending: g.pending as u64,
                lag: g.lag.map(|l| l as u64),
                last_delivered_id: g.last_delivered_id,
            })
            .collect())
    }

    /// The oldest `max` dead-lettered jobs (for ops views and tests).
    pub async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, BusError> {
        let mut conn = self.conn().await?;
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.keys().jobs_dead())
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(max)
            .query_async(&mut conn)
            .await?;
        Ok(reply
            .ids
            .iter()
            .map(|e| {
                let payload = field(e, "payload").unwrap_or_default();
                DeadLetter {
                    id: field(e, "id").unwrap_or_default(),
                    reason: field(e, "reason").unwrap_or_default(),
                    deliveries: field(e, "deliveries")
                        .and_then(|d| d.parse().ok())
                        .unwrap_or(0),
                    job: serde_json::from_str(&payload).ok(),
                    payload,
                }
            })
            .collect())
    }
}

fn field(entry: &StreamId, name: &str) -> Option<String> {
    match entry.map.get(name)? {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn is_code(err: &BusError, code: &str) -> bool {
    matches!(err, BusError::Redis(e) if e.code() == Some(code))
}

/// One worker's membership in a consumer group. Cheap to clone: clones share the blocking
/// connection (reads are serialised) and the pool.
#[derive(Clone)]
pub struct JobConsumer {
    bus: Bus,
    stream: String,
    dead: String,
    group: String,
    consumer: String,
    blocking: Arc<Mutex<Option<MultiplexedConnection>>>,
}

impl std::fmt::Debug for JobConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobConsumer")
            .field("group", &self.group)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

impl JobConsumer {
    pub fn group(&self) -> &str {
        &self.group
    }

    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    async fn ensure_group(&self) -> Result<(), BusError> {
        let mut conn = self.bus.conn().await?;
        // From id 0, not `$`: jobs enqueued before the first worker ever started are served.
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(&self.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created.map_err(BusError::from) {
            Ok(()) => Ok(()),
            Err(e) if is_code(&e, "BUSYGROUP") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Up to `count` new jobs, waiting at most `block` for the first (zero: do not wait).
    /// Entries that cannot be decoded are dead-lettered here and not returned.
    pub async fn read(&self, count: usize, block: Duration) -> Result<Vec<JobDelivery>, BusError> {
        let reply = match self.read_once(count, block).await {
            // Redis restarted without its data: the group is gone. Recreate it and retry once.
            Err(e) if is_code(&e, "NOGROUP") => {
                self.ensure_group().await?;
                self.read_once(count, block).await?
            }
            other => other?,
        };
        let mut out = Vec::new();
        for key in reply.keys {
            for entry in key.ids {
                match decode_job(&entry) {
                    Ok(TracedJob { job, trace }) => out.push(JobDelivery {
                        id: entry.id,
                        job,
                        deliveries: 1,
                        trace,
                    }),
                    Err(reason) => {
                        self.dead_letter(&entry.id, &reason, 1, field(&entry, JOB_FIELD))
                            .await?;
                    }
                }
            }
        }
        Ok(out)
    }

    async fn read_once(&self, count: usize, block: Duration) -> Result<StreamReadReply, BusError> {
        let mut slot = self.blocking.lock().await;
        if slot.is_none() {
            *slot = Some(self.bus.dedicated_connection().await?);
        }
        let Some(conn) = slot.as_mut() else {
            return Err(BusError::Unavailable("no connection".into()));
        };
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(count.max(1));
        if !block.is_zero() {
            // BLOCK 0 would mean "forever": keep at least 1 ms.
            cmd.arg("BLOCK").arg(block.as_millis().max(1) as u64);
        }
        cmd.arg("STREAMS").arg(&self.stream).arg(">");
        // The dedicated connection has no response timeout (it must outlast BLOCK), so bound the
        // call here: a peer gone silent must not hang the worker.
        let limit = block + self.bus.config().command_timeout;
        let result = tokio::time::timeout(limit, cmd.query_async::<Option<StreamReadReply>>(conn))
            .await
            .map_err(|_| BusError::timeout("XREADGROUP"))
            .and_then(|r| r.map_err(BusError::from));
        match result {
            Ok(reply) => Ok(reply.unwrap_or_default()),
            Err(e) => {
                if e.is_unavailable() {
                    // Open a fresh connection next time.
                    *slot = None;
                }
                Err(e)
            }
        }
    }

    /// Acknowledges a job (after its reply is persisted). Idempotent.
    #[tracing::instrument(name = "bus.ack", skip_all, fields(otel.kind = "client"))]
    pub async fn ack(&self, id: impl AsRef<str>) -> Result<(), BusError> {
        let mut conn = self.bus.conn().await?;
        let _: (u64, u64) = redis::pipe()
            .cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(id.as_ref())
            .cmd("DEL")
            .arg(self.bus.keys().job_lease(id.as_ref()))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Tells the group this consumer is still working on `id`: resets its idle time and holds
    /// its lease for `lease`, so `reclaim` elsewhere does not take it before the lease runs out
    /// (a heartbeat renews it well before; a worker that stops renewing it is dead or hung).
    /// Returns `false` when the entry is no longer this consumer's (acknowledged, or already
    /// taken over): stop working on it. An entry Redis lost altogether stays this consumer's.
    pub async fn touch(&self, id: impl AsRef<str>, lease: Duration) -> Result<bool, BusError> {
        let mut inv = TOUCH.prepare_invoke();
        inv.key(&self.stream)
            .key(self.bus.keys().job_lease(id.as_ref()))
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(id.as_ref())
            .arg(lease.as_millis().max(1) as u64);
        let mut conn = self.bus.conn().await?;
        let owned: i64 = inv.invoke_async(&mut conn).await?;
        Ok(owned == 1)
    }

    /// Takes over up to `count` entries idle for at least `min_idle` whose lease (see
    /// [`JobConsumer::touch`]) has run out: their consumer died or hangs. Entries already
    /// delivered `max_deliveries` times or more, and entries that cannot be decoded, are
    /// dead-lettered instead. Several workers may reclaim at once: `XCLAIM` with `min_idle` lets
    /// only one of them win each entry, and an owner's touch in between (which resets the idle
    /// time) keeps its entry.
    pub async fn reclaim(
        &self,
        min_idle: Duration,
        count: usize,
        max_deliveries: u32,
    ) -> Result<ReclaimResult, BusError> {
        let idle_ms = min_idle.as_millis() as u64;
        let pending: StreamPendingCountReply = {
            let mut conn = self.bus.conn().await?;
            let r: Result<StreamPendingCountReply, redis::RedisError> = redis::cmd("XPENDING")
                .arg(&self.stream)
                .arg(&self.group)
                .arg("IDLE")
                .arg(idle_ms)
                .arg("-")
                .arg("+")
                .arg(count.max(1))
                .query_async(&mut conn)
                .await;
            match r.map_err(BusError::from) {
                Ok(p) => p,
                Err(e) if is_code(&e, "NOGROUP") => {
                    drop(conn);
                    self.ensure_group().await?;
                    return Ok(ReclaimResult::default());
                }
                Err(e) => return Err(e),
            }
        };
        let unleased = self.without_lease(pending.ids).await?;
        let mut result = ReclaimResult::default();
        let (exhausted, retry): (Vec<_>, Vec<_>) = unleased
            .into_iter()
            .partition(|p| p.times_delivered as u64 >= max_deliveries as u64);

        if !exhausted.is_empty() {
            // JUSTID: take ownership without counting another delivery.
            let ids: Vec<&str> = exhausted.iter().map(|p| p.id.as_str()).collect();
            let won: Vec<String> = self.claim(idle_ms, &ids, true).await?;
            for p in exhausted.iter().filter(|p| won.contains(&p.id)) {
                let payload = self.entry_payload(&p.id).await?;
                let deliveries = p.times_delivered as u32;
                let reason = format!("delivered {deliveries} times without being acknowledged");
                result.dead.push(
                    self.dead_letter(&p.id, &reason, deliveries, payload)
                        .await?,
                );
            }
        }

        if !retry.is_empty() {
            let ids: Vec<&str> = retry.iter().map(|p| p.id.as_str()).collect();
            let claimed: StreamClaimReply = self.claim(idle_ms, &ids, false).await?;
            for entry in claimed.ids {
                let before = retry
                    .iter()
                    .find(|p| p.id == entry.id)
                    .map_or(0, |p| p.times_delivered as u32);
                let deliveries = before + 1;
                match decode_job(&entry) {
                    Ok(TracedJob { job, trace }) => result.claimed.push(JobDelivery {
                        id: entry.id,
                        job,
                        deliveries,
                        trace,
                    }),
                    Err(reason) => {
                        let payload = field(&entry, JOB_FIELD);
                        result.dead.push(
                            self.dead_letter(&entry.id, &reason, deliveries, payload)
                                .await?,
                        );
                    }
                }
            }
        }
        Ok(result)
    }

    /// The pending entries whose lease has run out (or that never had one).
    async fn without_lease(
        &self,
        pending: Vec<redis::streams::StreamPendingId>,
    ) -> Result<Vec<redis::streams::StreamPendingId>, BusError> {
        if pending.is_empty() {
            return Ok(pending);
        }
        // One MGET: every lease key shares the job stream's slot.
        let keys: Vec<String> = pending
            .iter()
            .map(|p| self.bus.keys().job_lease(&p.id))
            .collect();
        let mut conn = self.bus.conn().await?;
        let leases: Vec<Option<String>> =
            redis::cmd("MGET").arg(&keys).query_async(&mut conn).await?;
        Ok(pending
            .into_iter()
            .zip(leases)
            .filter_map(|(p, lease)| lease.is_none().then_some(p))
            .collect())
    }

    async fn claim<T: redis::FromRedisValue>(
        &self,
        idle_ms: u64,
        ids: &[&str],
        just_id: bool,
    ) -> Result<T, BusError> {
        let mut cmd = redis::cmd("XCLAIM");
        cmd.arg(&self.stream)
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(idle_ms)
            .arg(ids);
        if just_id {
            cmd.arg("JUSTID");
        }
        let mut conn = self.bus.conn().await?;
        Ok(cmd.query_async(&mut conn).await?)
    }

    async fn entry_payload(&self, id: &str) -> Result<Option<String>, BusError> {
        let mut conn = self.bus.conn().await?;
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(&self.stream)
            .arg(id)
            .arg(id)
            .query_async(&mut conn)
            .await?;
        Ok(reply.ids.first().and_then(|e| field(e, JOB_FIELD)))
    }

    /// Copies an entry this consumer owns to `llm.jobs.dead`, then acknowledges it. Not atomic
    /// (the two streams may live on different cluster nodes): a crash in between dead-letters
    /// the entry twice, which is harmless.
    async fn dead_letter(
        &self,
        id: &str,
        reason: &str,
        deliveries: u32,
        payload: Option<String>,
    ) -> Result<DeadLetter, BusError> {
        let payload = payload.unwrap_or_default();
        tracing::warn!(job_entry = id, reason, deliveries, "dead-lettering job");
        let mut conn = self.bus.conn().await?;
        let _: (String, u64) = redis::pipe()
            .cmd("XADD")
            .arg(&self.dead)
            .arg("*")
            .arg("id")
            .arg(id)
            .arg("reason")
            .arg(reason)
            .arg("deliveries")
            .arg(deliveries)
            .arg("group")
            .arg(&self.group)
            .arg("consumer")
            .arg(&self.consumer)
            .arg("payload")
            .arg(&payload)
            .cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(id)
            .query_async(&mut conn)
            .await?;
        Ok(DeadLetter {
            id: id.to_owned(),
            reason: reason.to_owned(),
            deliveries,
            job: serde_json::from_str(&payload).ok(),
            payload,
        })
    }

    /// Entries delivered to this group and not yet acknowledged.
    pub async fn pending_count(&self) -> Result<u64, BusError> {
        let mut conn = self.bus.conn().await?;
        let reply: redis::streams::StreamPendingReply = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(&self.group)
            .query_async(&mut conn)
            .await?;
        Ok(reply.count() as u64)
    }
}

/// The job as written to the stream: its fields and the trace context, `trace` or else the
/// current span's (none when tracing is off).
pub(crate) fn encode_job(job: &LlmJob, trace: Option<TraceContext>) -> Result<String, BusError> {
    /// [`TracedJob`]'s shape, borrowing the job.
    #[derive(serde::Serialize)]
    struct Written<'a> {
        #[serde(flatten)]
        job: &'a LlmJob,
        #[serde(skip_serializing_if = "Option::is_none")]
        trace: Option<TraceContext>,
    }
    let traced = Written {
        job,
        trace: trace.or_else(TraceContext::current),
    };
    serde_json::to_string(&traced).map_err(|e| decode_err("encode job", e))
}

fn decode_job(entry: &StreamId) -> Result<TracedJob, String> {
    let raw =
        field(entry, JOB_FIELD).ok_or_else(|| format!("undecodable: no {JOB_FIELD:?} field"))?;
    serde_json::from_str(&raw).map_err(|e| format!("undecodable: {e}"))
}
