CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    character_id BIGINT REFERENCES characters (id) ON DELETE SET NULL,
    server_id BIGINT REFERENCES servers (id) ON DELETE CASCADE,
    owner_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    visibility TEXT NOT NULL DEFAULT 'private',
    member_limit INTEGER NOT NULL DEFAULT 0,
    -- "small:large" user ids of a direct conversation: one DM per pair
    direct_key TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_message_at TIMESTAMP,
    CONSTRAINT conversations_direct_key_key UNIQUE (direct_key)
);
CREATE INDEX conversations_server_id_idx ON conversations (server_id, position);
CREATE INDEX conversations_owner_id_idx ON conversations (owner_id);
CREATE INDEX conversations_character_id_idx ON conversations (character_id);
CREATE INDEX conversations_kind_visibility_idx ON conversations (kind, visibility);

CREATE TABLE conversation_members (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL DEFAULT 'member',
    joined_at TIMESTAMP NOT NULL,
    left_at TIMESTAMP,
    last_read_message_id BIGINT,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user_id_idx ON conversation_members (user_id);

CREATE TABLE conversation_characters (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    character_id BIGINT NOT NULL REFERENCES characters (id) ON DELETE CASCADE,
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (conversation_id, character_id)
);
CREATE INDEX conversation_characters_character_id_idx ON conversation_characters (character_id);
