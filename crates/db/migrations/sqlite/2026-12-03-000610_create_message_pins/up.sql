-- Issue 19: messages an owner or admin pinned, listed per conversation newest first.
CREATE TABLE message_pins (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    pinned_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    pinned_at TIMESTAMP NOT NULL
);
CREATE INDEX message_pins_conversation_idx ON message_pins (conversation_id, pinned_at);
