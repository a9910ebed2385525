-- Issue 19: a person mutes a conversation (until a time, or until unmuted): its DMs-while-away,
-- thread replies and @everyone stop reaching their inbox; a direct @mention still does.
CREATE TABLE conversation_mutes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    muted_until TIMESTAMP,
    PRIMARY KEY (user_id, conversation_id)
);
