-- Roll-ups for the admin statistics (issue #6), maintained as messages and replies are stored
-- (db::stats::record_user_message / record_generation), so a report over a period reads
-- O(days × models) or O(active users) rows instead of scanning messages.
--
-- No foreign keys: the counters are history and must never make the write that records them
-- fail (a deleted character or user keeps its past numbers). Counters that every write of a day
-- touches are split over a few `shard` rows so concurrent writers do not queue on one row lock;
-- readers sum the shards.

-- One row per recorded event ('gen:<job id>', 'msg:<message id>'): recording is idempotent.
CREATE TABLE stats_ledger (
    event_key TEXT PRIMARY KEY,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX stats_ledger_recorded_at_idx ON stats_ledger (recorded_at);

-- AI generations per day, model and provider.
CREATE TABLE daily_stats (
    day DATE NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    shard INTEGER NOT NULL,
    generations_ok BIGINT NOT NULL DEFAULT 0,
    generations_failed BIGINT NOT NULL DEFAULT 0,
    generations_cancelled BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, model, provider, shard)
);

-- Generation latency histogram: log-linear buckets (8 per power of two, ≤ 12.5% wide), with the
-- exact sum so the mean is exact and p50/p99 are interpolated within one bucket.
CREATE TABLE latency_daily (
    day DATE NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    samples BIGINT NOT NULL DEFAULT 0,
    sum_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, model, provider, bucket)
);

-- Per day: messages users sent and daily active users (first activity of a user that day).
CREATE TABLE day_stats (
    day DATE NOT NULL,
    shard INTEGER NOT NULL,
    user_messages BIGINT NOT NULL DEFAULT 0,
    active_users BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, shard)
);

-- Messages exchanged with each character per day (user messages to it + its completed replies).
-- Not sharded: only one very popular character's row is hot, and only for that character.
CREATE TABLE character_daily (
    day DATE NOT NULL,
    character_id BIGINT NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, character_id)
);

-- Who was active on which day (first activity of the day for DAU; per-user daily usage).
CREATE TABLE user_activity_daily (
    day DATE NOT NULL,
    user_id BIGINT NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    replies BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, user_id)
);
CREATE INDEX user_activity_daily_user_id_idx ON user_activity_daily (user_id, day);

-- Per user and calendar month: messages, completed replies and tokens (the admin user list sorts
-- by this month's tokens without touching usage_daily), and the days the user was active as a
-- bit set (bit d-1 for day d), so "distinct users active between two dates" reads one row per
-- user and month instead of one per user and day.
CREATE TABLE user_monthly (
    month_start DATE NOT NULL,
    user_id BIGINT NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    replies BIGINT NOT NULL DEFAULT 0,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    active_days BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (month_start, user_id)
);
CREATE INDEX user_monthly_user_id_idx ON user_monthly (user_id, month_start);

-- New users per period.
CREATE INDEX users_created_at_idx ON users (created_at);
