//! Small shared keys (DESIGN §4 "Other keys"): cancellation of generations, access-token
//! revocation, the gateway node registry and presence. Expiry is always Redis's job (TTLs or
//! the server clock), so a crashed process leaves nothing behind for long.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use domain::events::{TracedUserEvent, UserEvent};
use domain::UserId;
use redis::Script;

use crate::error::{decode_err, BusError};
use crate::Bus;

/// How long a cancellation flag outlives its request: longer than any generation runs.
const CANCEL_TTL_SECS: u64 = 3600;
/// How long a user-wide revocation is kept: far longer than any access token lives.
const USER_REVOCATION_TTL_SECS: u64 = 30 * 86_400;

/// A gateway replica as registered in the node registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub node_id: String,
    /// Whatever JSON the node registered (address, connection count, …).
    pub info: String,
}

/// Keeps the later of the stored and the given timestamp. KEYS: key. ARGV: ms, ttl secs.
static MAX_TIMESTAMP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"#,
    )
});

/// Server time in ms, so expiry does not depend on the replicas' clocks agreeing.
const NOW_MS: &str = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/// KEYS: info hash, expiry zset. ARGV: node id, info json, ttl ms.
static REGISTER_NODE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{NOW_MS}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1
"#
    ))
});

/// KEYS: info hash, expiry zset. Drops expired nodes, returns {id1, info1, …}.
static LIST_NODES: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{NOW_MS}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('HDEL', KEYS[1], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local out = {{}}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local info = redis.call('HGET', KEYS[1], id)
  if info then
    out[#out + 1] = id
    out[#out + 1] = info
  end
end
return out
"#
    ))
});

/// Presence is a sorted set per user: node id → expiry ms, so one user connected through several
/// gateways stays online until the last of them stops refreshing. KEYS: set. ARGV: node, ttl ms.
static SET_PRESENCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], tonumber(last[2]))
return 1
"#
    ))
});

/// KEYS: set. Returns how many nodes hold the user online now.
static COUNT_PRESENCE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r#"{NOW_MS}
return redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%d', now), '+inf')
"#
    ))
});

fn secs(d: Duration) -> u64 {
    d.as_secs().max(1)
}

fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

impl Bus {
    /// Publishes a [`UserEvent`] on the user's channel (notifications, multi-device sync).
    /// Fire-and-forget: users are not logged, a user offline misses it.
    /// The payload carries the current span's trace context ([`TracedUserEvent`]).
    #[tracing::instrument(name = "bus.publish_user", skip_all, fields(otel.kind = "producer", user_id = %user_id))]
    pub async fn publish_user(&self, user_id: UserId, event: &UserEvent) -> Result<(), BusError> {
        let traced = TracedUserEvent {
            event: event.clone(),
            trace: domain::trace::TraceContext::current(),
        };
        let payload =
            serde_json::to_string(&traced).map_err(|e| decode_err("encode user event", e))?;
        let mut conn = self.conn().await?;
        let _: u64 = redis::cmd("PUBLISH")
            .arg(self.keys().user_channel(user_id))
            .arg(payload)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Asks whoever runs `job_id` to stop: a flag (for workers that pick the job up later or
    /// missed the message) and a notification on the cancel channel.
    #[tracing::instrument(name = "bus.request_cancel", skip_all, fields(otel.kind = "producer", job_id = %job_id))]
    pub async fn request_cancel(&self, job_id: &str) -> Result<(), BusError> {
        let mut conn = self.conn().await?;
        let _: ((), u64) = redis::pipe()
            .cmd("SET")
            .arg(self.keys().cancel_flag(job_id))
            .arg(1)
            .arg("EX")
            .arg(CANCEL_TTL_SECS)
            .cmd("PUBLISH")
            .arg(self.keys().cancel_channel())
            .arg(job_id)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    pub async fn is_cancelled(&self, job_id: &str) -> Result<bool, BusError> {
        self.exists(self.keys().cancel_flag(job_id)).await
    }

    /// Revokes one access token (by its `jti`) for `ttl` — its remaining lifetime.
    pub async fn revoke_jti(&self, jti: &str, ttl: Duration) -> Result<(), BusError> {
        let mut conn = self.conn().await?;
        let _: () = redis::cmd("SET")
            .arg(self.keys().revoked_jti(jti))
            .arg(1)
            .arg("EX")
            .arg(secs(ttl))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    pub async fn is_jti_revoked(&self, jti: &str) -> Result<bool, BusError> {
        self.exists(self.keys().revoked_jti(jti)).await
    }

    /// Revokes one session (a refresh-token family and every access token issued in it) for
    /// `ttl` — the longest an access token of it can still live.
    pub async fn revoke_session(&self, session: &str, ttl: Duration) -> Result<(), BusError> {
        let mut conn = self.conn().await?;
        let _: () = redis::cmd("SET")
            .arg(self.keys().revoked_session(session))
            .arg(1)
            .arg("EX")
            .arg(secs(ttl))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Everything that can revoke one access token, in one round trip: its `jti`, its session,
    /// and the user's "revoked before" instant.
    pub async fn token_revocations(
        &self,
        jti: &str,
        session: Option<&str>,
        user_id: UserId,
    ) -> Result<Revocations, BusError> {
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(self.keys().revoked_jti(jti));
        // A token without a session (issued before sessions existed) checks a key that
        // cannot exist.
        pipe.cmd("EXISTS")
            .arg(self.keys().revoked_session(session.unwrap_or("-")));
        pipe.cmd("GET").arg(self.keys().revoked_user(user_id));
        let (jti, session, before_ms): (bool, bool, Option<i64>) =
            pipe.query_async(&mut conn).await?;
        let user_before = before_ms
            .map(|ms| {
                Utc.timestamp_millis_opt(ms)
                    .single()
                    .ok_or_else(|| BusError::Decode(format!("bad revocation timestamp {ms}")))
            })
            .transpose()?;
        Ok(Revocations {
            jti,
            session,
            user_before,
        })
    }

    /// Revokes every token of the user issued before `ts` (logout everywhere, deactivation).
    /// Only moves forward: an older timestamp never un-revokes tokens.
    pub async fn revoke_user_tokens_before(
        &self,
        user_id: UserId,
        ts: DateTime<Utc>,
    ) -> Result<(), BusError> {
        let mut inv = MAX_TIMESTAMP.prepare_invoke();
        inv.key(self.keys().revoked_user(user_id))
            .arg(ts.timestamp_millis())
            .arg(USER_REVOCATION_TTL_SECS);
        let mut conn = self.conn().await?;
        let _: i64 = inv.invoke_async(&mut conn).await?;
        Ok(())
    }

    /// Tokens of this user issued before the returned instant are revoked (millisecond
    /// precision).
    pub async fn user_tokens_revoked_before(
        &self,
        user_id: UserId,
    ) -> Result<Option<DateTime<Utc>>, BusError> {
        let mut conn = self.conn().await?;
        let ms: Option<i64> = redis::cmd("GET")
            .arg(self.keys().revoked_user(user_id))
            .query_async(&mut conn)
            .await?;
        ms.map(|ms| {
            Utc.timestamp_millis_opt(ms)
                .single()
                .ok_or_else(|| BusError::Decode(format!("bad revocation timestamp {ms}")))
        })
        .transpose()
    }

    /// Registers (or refreshes) a gateway replica for `ttl`; call it as a heartbeat.
    pub async fn register_node(
        &self,
        node_id: &str,
        info_json: &str,
        ttl: Duration,
    ) -> Result<(), BusError> {
        let mut inv = REGISTER_NODE.prepare_invoke();
        inv.key(self.keys().nodes_info())
            .key(self.keys().nodes_expiry())
            .arg(node_id)
            .arg(info_json)
            .arg(millis(ttl));
        let mut conn = self.conn().await?;
        let _: i64 = inv.invoke_async(&mut conn).await?;
        Ok(())
    }

    /// Removes a replica at shutdown, before its heartbeat would expire.
    pub async fn unregister_node(&self, node_id: &str) -> Result<(), BusError> {
        let mut conn = self.conn().await?;
        let _: (u64, u64) = redis::pipe()
            .cmd("HDEL")
            .arg(self.keys().nodes_info())
            .arg(node_id)
            .cmd("ZREM")
            .arg(self.keys().nodes_expiry())
            .arg(node_id)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    /// The replicas whose heartbeat has not expired.
    pub async fn list_nodes(&self) -> Result<Vec<NodeInfo>, BusError> {
        let mut inv = LIST_NODES.prepare_invoke();
        inv.key(self.keys().nodes_info())
            .key(self.keys().nodes_expiry());
        let mut conn = self.conn().await?;
        let flat: Vec<String> = inv.invoke_async(&mut conn).await?;
        Ok(flat
            .chunks_exact(2)
            .map(|p| NodeInfo {
                node_id: p[0].clone(),
                info: p[1].clone(),
            })
            .collect())
    }

    /// Marks the user online through `node_id` for `ttl`; refresh it while connected.
    pub async fn set_presence(
        &self,
        user_id: UserId,
        node_id: &str,
        ttl: Duration,
    ) -> Result<(), BusError> {
        let mut inv = SET_PRESENCE.prepare_invoke();
        inv.key(self.keys().presence(user_id))
            .arg(node_id)
            .arg(millis(ttl));
        let mut conn = self.conn().await?;
        let _: i64 = inv.invoke_async(&mut conn).await?;
        Ok(())
    }

    /// The user's last connection through `node_id` closed.
    pub async fn clear_presence(&self, user_id: UserId, node_id: &str) -> Result<(), BusError> {
        let mut conn = self.conn().await?;
        let _: u64 = redis::cmd("ZREM")
            .arg(self.keys().presence(user_id))
            .arg(node_id)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    pub async fn is_online(&self, user_id: UserId) -> Result<bool, BusError> {
        let mut inv = COUNT_PRESENCE.prepare_invoke();
        inv.key(self.keys().presence(user_id));
        let mut conn = self.conn().await?;
        let n: u64 = inv.invoke_async(&mut conn).await?;
        Ok(n > 0)
    }

    async fn exists(&self, key: String) -> Result<bool, BusError> {
        let mut conn = self.conn().await?;
        let n: u64 = redis::cmd("EXISTS").arg(key).query_async(&mut conn).await?;
        Ok(n > 0)
    }
}

/// What [`Bus::token_revocations`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocations {
    /// This very token was revoked (logout of a token without a session).
    pub jti: bool,
    /// Its session was ended (logout, refresh-token reuse).
    pub session: bool,
    /// Tokens of the user issued before this instant are revoked (deactivation, "log out
    /// everywhere").
    pub user_before: Option<DateTime<Utc>>,
}
