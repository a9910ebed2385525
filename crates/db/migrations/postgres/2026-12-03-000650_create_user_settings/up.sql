-- Issue 19: per-person preferences that are not profile: DM read receipts (off by default).
-- A row exists only once someone changed a default.
CREATE TABLE user_settings (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    read_receipts BOOLEAN NOT NULL DEFAULT FALSE
);
