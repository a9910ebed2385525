-- Issue 19: each person's inbox (mentions, thread replies to their messages, DMs while away,
-- friend requests), newest first, with a read marker per item.
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    conversation_id BIGINT REFERENCES conversations (id) ON DELETE CASCADE,
    message_id BIGINT REFERENCES messages (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id);
