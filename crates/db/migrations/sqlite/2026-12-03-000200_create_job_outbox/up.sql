-- Issue 14: the transactional outbox. A generation job is stored here in the same transaction
-- as the message (or story) it answers, so an accepted job survives any loss of Redis data:
-- every llm-worker relays rows whose job Redis no longer knows back onto llm.jobs. A row is
-- removed once its reply is finished, or after the retention period.
CREATE TABLE job_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    relayed_at TIMESTAMP,
    relays INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX job_outbox_created_at_idx ON job_outbox (created_at);
-- The stuck-reply sweep of every worker reads streaming replies every few seconds: a partial
-- index keeps that off the (large) messages table; streaming rows are few at any time.
CREATE INDEX messages_streaming_idx ON messages (created_at) WHERE status = 'streaming';
