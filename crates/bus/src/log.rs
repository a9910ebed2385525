//! The conversation event log (DESIGN §4): one Lua script assigns the next offset, appends the
//! event to the conversation's stream under that offset and publishes it, so offset,
//! persistence and fan-out can never disagree. Readers recover missed events by offset.

use std::sync::LazyLock;

use domain::events::EventPayload;
use domain::trace::TraceContext;
use domain::ConversationId;
use redis::Script;
use serde::{Deserialize, Serialize};

use crate::error::{decode_err, BusError};
use crate::Bus;

/// One event on a conversation's log, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub conversation_id: ConversationId,
    /// Changes whenever the log may have been lost or gone back (expired, evicted, Redis
    /// restarted — with or without its data —, restored from a snapshot, failed over), so
    /// offsets from an older epoch are never mistaken for current ones.
    pub epoch: String,
    /// 1-based, consecutive within one epoch of one conversation.
    pub offset: u64,
    /// The event JSON exactly as published (`{"v":1,"type":…}`), so the gateway can forward it
    /// without a decode/encode round trip.
    pub payload: String,
    /// The publisher's trace context (when it was traced), from the published envelope: a
    /// gateway's delivery span is its child (issue 23). Not kept on the log: replays have none.
    pub trace: Option<TraceContext>,
}

impl LogEntry {
    pub fn decode(&self) -> Result<EventPayload, BusError> {
        serde_json::from_str(&self.payload).map_err(|e| decode_err("event payload", e))
    }
}

/// The answer to "what did I miss since (epoch, offset)?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The log's current epoch: the client keeps it with the last offset it saw.
    pub epoch: String,
    /// The offset of the newest event on the log (0 when none yet in this epoch).
    pub latest_offset: u64,
    /// The missed events in offset order (at most `max`; see [`Recovery::is_complete`]).
    pub entries: Vec<LogEntry>,
    /// `false` when the missed events cannot be replayed — the epoch changed, or some of them
    /// already left the retained log. The client must then reload history over REST; `entries`
    /// is empty.
    pub recovered: bool,
}

impl Recovery {
    /// Whether `entries` reaches `latest_offset`. When `max` cut the replay short, read again
    /// from the last entry's offset.
    pub fn is_complete(&self) -> bool {
        self.recovered
            && self
                .entries
                .last()
                .is_none_or(|e| e.offset >= self.latest_offset)
    }
}

/// Shared by all scripts: finds the conversation's current epoch, or starts a new one (ARGV[1],
/// random, made by the caller) and drops whatever is left of the old log, so a reader holding
/// the old epoch learns it cannot recover instead of getting a silent gap.
///
/// A missing epoch or counter is a lost log. But a log can also come back *older* with both
/// keys present — Redis restarted from a snapshot or an AOF that missed the last writes, or a
/// lagging replica was promoted — and then the counter would issue offsets already issued under
/// the same epoch. So each epoch is bound to the Redis dataset it was made in: the epoch key
/// holds `<epoch>:<run_id>/<master_replid>`, and any other identity means the data survived a
/// restart (new `run_id`) or a promotion (new replication id — also when an old master that
/// resynced a lagging replica's data is promoted back without a restart), and the epoch
/// rotates. Data can only go backwards across one of those (or by keys vanishing, caught by
/// the missing-key check), so within one identity the counter never goes back. An epoch key
/// from before this binding has no identity and rotates once.
///
/// The cost: even a restart that lost nothing (AOF `always`, a clean shutdown) rotates every
/// conversation's epoch, and subscribed clients reload history over REST once — never a wrong
/// history. The identity is read by the script itself (INFO is allowed in scripts; two calls,
/// as multi-section INFO needs Redis 7) rather than cached by the client: a cached id could be
/// stale exactly when it matters, right after a restart. It costs a few microseconds a script.
const ENSURE_EPOCH: &str = r#"
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)')
if not (run_id and replid) then
  return redis.error_reply('ERR INFO has no run_id or master_replid: cannot bind log epochs')
end
local me = run_id .. '/' .. replid
local epoch = nil
local stored = redis.call('GET', KEYS[3])
if stored then
  local sep = string.find(stored, ':', 1, true)
  if sep and string.sub(stored, sep + 1) == me then epoch = string.sub(stored, 1, sep - 1) end
end
if (not epoch) or redis.call('EXISTS', KEYS[2]) == 0 then
  epoch = ARGV[1]
  redis.call('SET', KEYS[3], epoch .. ':' .. me, 'EX', ARGV[2])
  redis.call('SET', KEYS[2], '0', 'EX', ARGV[2])
  redis.call('DEL', KEYS[1])
end
"#;

/// KEYS: log, seq, epoch. ARGV: fresh epoch, ttl secs, payload json, max len, channel, trace
/// context JSON or '' (put in the published envelope only: it is for live deliveries).
static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{ENSURE_EPOCH}
local offset = redis.call('INCR', KEYS[2])
local id = '0-' .. string.format('%d', offset)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], id, 'p', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
-- The payload is JSON already; splice it in rather than decode and re-encode it in Lua.
local trace = ''
if ARGV[6] ~= '' then trace = ',"trace":' .. ARGV[6] end
local envelope = '{{"epoch":"' .. epoch .. '","offset":' .. string.format('%d', offset) ..
  trace .. ',"event":' .. ARGV[3] .. '}}'
redis.call('PUBLISH', ARGV[5], envelope)
return {{epoch, offset}}
"#
    ))
});

/// [`PUBLISH`] guarded by a marker key: KEYS[4] holding the current epoch means this event was
/// published in this epoch already, and nothing happens (returns {'', 0}). ARGV[6]: how long
/// the marker lives, ARGV[7] the trace context JSON or ''. The marker is compared with the epoch *after* [`ENSURE_EPOCH`], so the
/// promise is "once per epoch": when the log was lost or went back, the event is published
/// again into the new epoch, where a reader has not seen it, instead of never. The check, the
/// append and the marker are one script, so a retried request can neither skip the event nor
/// publish it twice.
static PUBLISH_ONCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{ENSURE_EPOCH}
if redis.call('GET', KEYS[4]) == epoch then return {{'', 0}} end
local offset = redis.call('INCR', KEYS[2])
local id = '0-' .. string.format('%d', offset)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], id, 'p', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
redis.call('SET', KEYS[4], epoch, 'EX', ARGV[6])
local trace = ''
if ARGV[7] ~= '' then trace = ',"trace":' .. ARGV[7] end
local envelope = '{{"epoch":"' .. epoch .. '","offset":' .. string.format('%d', offset) ..
  trace .. ',"event":' .. ARGV[3] .. '}}'
redis.call('PUBLISH', ARGV[5], envelope)
return {{epoch, offset}}
"#
    ))
});

/// KEYS: log, seq, epoch. ARGV: fresh epoch, ttl secs, after offset, max entries.
/// Returns {epoch, latest, oldest retained id or '0', {id1, payload1, id2, payload2, …}}.
static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{ENSURE_EPOCH}
local latest = tonumber(redis.call('GET', KEYS[2]))
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local oldest = '0'
if #first > 0 then oldest = first[1][1] end
local after = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local out = {{}}
if max > 0 and after < latest then
  local from = '0-' .. string.format('%d', after + 1)
  for _, e in ipairs(redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', max)) do
    out[#out + 1] = e[1]
    out[#out + 1] = e[2][2]
  end
end
return {{epoch, string.format('%d', latest), oldest, out}}
"#
    ))
});

/// The envelope published on a conversation channel.
#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    pub(crate) epoch: String,
    pub(crate) offset: u64,
    #[serde(borrow)]
    pub(crate) event: &'a serde_json::value::RawValue,
    #[serde(default)]
    pub(crate) trace: Option<TraceContext>,
}

pub(crate) fn decode_envelope(
    conversation_id: ConversationId,
    bytes: &[u8],
) -> Result<LogEntry, BusError> {
    let env: Envelope<'_> =
        serde_json::from_slice(bytes).map_err(|e| decode_err("event envelope", e))?;
    Ok(LogEntry {
        conversation_id,
        epoch: env.epoch,
        offset: env.offset,
        payload: env.event.get().to_owned(),
        trace: env.trace,
    })
}

pub(crate) fn fresh_epoch() -> String {
    // 64 random bits is plenty to tell two lives of one conversation log apart.
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..16].to_owned()
}

/// The current span's trace context as the JSON spliced into an envelope, or '' when untraced.
fn trace_arg() -> (Option<TraceContext>, String) {
    let trace = TraceContext::current();
    let json = trace
        .as_ref()
        .and_then(|t| serde_json::to_string(t).ok())
        .unwrap_or_default();
    (trace, json)
}

/// `0-<n>` → n.
fn offset_of(id: &str) -> Result<u64, BusError> {
    id.strip_prefix("0-")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| BusError::Decode(format!("unexpected log entry id {id:?}")))
}

impl Bus {
    /// Appends `event` to the conversation's log and publishes it to live subscribers, in one
    /// atomic step. Returns the entry with its (epoch, offset).
    pub async fn publish(
        &self,
        conversation_id: ConversationId,
        event: &EventPayload,
    ) -> Result<LogEntry, BusError> {
        let payload = serde_json::to_string(event).map_err(|e| decode_err("encode event", e))?;
        self.publish_raw(conversation_id, payload).await
    }

    /// [`Bus::publish`] for a payload that is JSON already. It must be one valid JSON value:
    /// it is spliced into the published envelope as is.
    #[tracing::instrument(name = "bus.publish", skip_all, fields(otel.kind = "producer", conversation_id = %conversation_id))]
    pub async fn publish_raw(
        &self,
        conversation_id: ConversationId,
        payload: String,
    ) -> Result<LogEntry, BusError> {
        let keys = self.keys();
        let cfg = self.config();
        let (trace, trace_json) = trace_arg();
        let mut inv = PUBLISH.prepare_invoke();
        inv.key(keys.log(conversation_id))
            .key(keys.seq(conversation_id))
            .key(keys.epoch(conversation_id))
            .arg(fresh_epoch())
            .arg(cfg.log_ttl_secs.max(1))
            .arg(&payload)
            .arg(cfg.log_max_len.max(1))
            .arg(keys.conv_channel(conversation_id))
            .arg(trace_json);
        let mut conn = self.conn().await?;
        let (epoch, offset): (String, u64) = inv.invoke_async(&mut conn).await?;
        Ok(LogEntry {
            conversation_id,
            epoch,
            offset,
            payload,
            trace,
        })
    }

    /// [`Bus::publish`] at most once per `once` key and epoch (for `remember`): a retried
    /// request that publishes the same event again (same key) does nothing and gets `None`,
    /// unless the log started a new epoch since, where the event is published again (readers
    /// of the new epoch never saw it). The key lives
    /// in the conversation's hash slot, so the check and the append stay one atomic script on
    /// a cluster too.
    #[tracing::instrument(name = "bus.publish", skip_all, fields(otel.kind = "producer", conversation_id = %conversation_id, once = %once))]
    pub async fn publish_once(
        &self,
        conversation_id: ConversationId,
        once: &str,
        event: &EventPayload,
        remember: std::time::Duration,
    ) -> Result<Option<LogEntry>, BusError> {
        let payload = serde_json::to_string(event).map_err(|e| decode_err("encode event", e))?;
        let keys = self.keys();
        let cfg = self.config();
        let (trace, trace_json) = trace_arg();
        let mut inv = PUBLISH_ONCE.prepare_invoke();
        inv.key(keys.log(conversation_id))
            .key(keys.seq(conversation_id))
            .key(keys.epoch(conversation_id))
            .key(keys.published_once(conversation_id, once))
            .arg(fresh_epoch())
            .arg(cfg.log_ttl_secs.max(1))
            .arg(&payload)
            .arg(cfg.log_max_len.max(1))
            .arg(keys.conv_channel(conversation_id))
            .arg(remember.as_secs().max(1))
            .arg(trace_json);
        let mut conn = self.conn().await?;
        let (epoch, offset): (String, u64) = inv.invoke_async(&mut conn).await?;
        Ok((offset > 0).then_some(LogEntry {
            conversation_id,
            epoch,
            offset,
            payload,
            trace,
        }))
    }

    /// The events after `offset`, if they can all be replayed (see [`Recovery::recovered`]).
    /// `epoch` is the one the client saw last; `None` accepts the current epoch. At most `max`
    /// entries are returned.
    #[tracing::instrument(name = "bus.read_since", skip_all, fields(otel.kind = "client", conversation_id = %conversation_id))]
    pub async fn read_since(
        &self,
        conversation_id: ConversationId,
        epoch: Option<&str>,
        offset: u64,
        max: usize,
    ) -> Result<Recovery, BusError> {
        let (current, latest, oldest, flat) =
            self.read_script(conversation_id, offset, max).await?;
        let not_recovered = |current: String| Recovery {
            epoch: current,
            latest_offset: latest,
            entries: Vec::new(),
            recovered: false,
        };
        if epoch.is_some_and(|e| e != current) || offset > latest {
            // A client ahead of the counter saw a log this epoch never had.
            return Ok(not_recovered(current));
        }
        if offset < latest && (oldest == 0 || oldest > offset + 1) {
            // The first missed event already left the retained log.
            return Ok(not_recovered(current));
        }
        let mut entries = Vec::with_capacity(flat.len() / 2);
        for pair in flat.chunks_exact(2) {
            entries.push(LogEntry {
                conversation_id,
                epoch: current.clone(),
                offset: offset_of(&pair[0])?,
                payload: pair[1].clone(),
                trace: None,
            });
        }
        Ok(Recovery {
            epoch: current,
            latest_offset: latest,
            entries,
            recovered: true,
        })
    }

    /// The current (epoch, latest offset) of a conversation's log, where a new subscriber
    /// starts. Creates the epoch if the log has none yet, so the answer stays valid once
    /// events arrive.
    pub async fn log_position(
        &self,
        conversation_id: ConversationId,
    ) -> Result<(String, u64), BusError> {
        let (epoch, latest, _, _) = self.read_script(conversation_id, u64::MAX, 0).await?;
        Ok((epoch, latest))
    }

    async fn read_script(
        &self,
        conversation_id: ConversationId,
        after: u64,
        max: usize,
    ) -> Result<(String, u64, u64, Vec<String>), BusError> {
        let keys = self.keys();
        let mut inv = READ.prepare_invoke();
        inv.key(keys.log(conversation_id))
            .key(keys.seq(conversation_id))
            .key(keys.epoch(conversation_id))
            .arg(fresh_epoch())
            .arg(self.config().log_ttl_secs.max(1))
            // Lua numbers are doubles: clamp so "after everything" stays exact.
            .arg(after.min(1 << 52))
            .arg(max);
        let mut conn = self.conn().await?;
        let (epoch, latest, oldest, flat): (String, String, String, Vec<String>) =
            inv.invoke_async(&mut conn).await?;
        let latest = latest.parse().map_err(|e| decode_err("log counter", e))?;
        let oldest = if oldest == "0" {
            0
        } else {
            offset_of(&oldest)?
        };
        Ok((epoch, latest, oldest, flat))
    }
}
