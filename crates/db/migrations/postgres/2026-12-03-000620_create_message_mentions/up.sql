-- Issue 19: the people a message mentions, resolved to ids when it was sent (so a rename
-- later does not move a mention), and indexed by person for "mentions of me".
CREATE TABLE message_mentions (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX message_mentions_user_idx ON message_mentions (user_id, message_id);
-- @everyone / @here by an owner or admin: one flag instead of a row per member of a large server.
ALTER TABLE messages ADD COLUMN mention_everyone BOOLEAN NOT NULL DEFAULT FALSE;
