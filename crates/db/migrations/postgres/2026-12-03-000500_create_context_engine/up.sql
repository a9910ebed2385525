-- Issue 16, the context engine: personas, lorebooks (a character's own and users' standalone
-- ones attached to conversations), per-conversation chat settings and the persona each member
-- speaks as, and the context report of each reply.

CREATE TABLE personas (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    avatar_url TEXT,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX personas_user_id_idx ON personas (user_id, id);
-- At most one default per user.
CREATE UNIQUE INDEX personas_one_default_idx ON personas (user_id) WHERE is_default;

-- The book is the Character Card V2 `character_book` JSON, kept as text so a card's book is
-- exported exactly as it was imported. character_id is set for a character's own book.
CREATE TABLE lorebooks (
    id BIGSERIAL PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    character_id BIGINT REFERENCES characters (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    book TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX lorebooks_owner_id_idx ON lorebooks (owner_id, id);
CREATE UNIQUE INDEX lorebooks_character_id_idx ON lorebooks (character_id);

CREATE TABLE conversation_lorebooks (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    lorebook_id BIGINT NOT NULL REFERENCES lorebooks (id) ON DELETE CASCADE,
    attached_by BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (conversation_id, lorebook_id)
);
CREATE INDEX conversation_lorebooks_lorebook_id_idx ON conversation_lorebooks (lorebook_id);

CREATE TABLE conversation_settings (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    author_note TEXT NOT NULL DEFAULT '',
    author_note_depth INTEGER NOT NULL DEFAULT 4,
    author_note_interval INTEGER NOT NULL DEFAULT 1,
    model TEXT,
    temperature DOUBLE PRECISION,
    top_p DOUBLE PRECISION,
    max_tokens INTEGER,
    updated_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE conversation_personas (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    persona_id BIGINT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_personas_persona_id_idx ON conversation_personas (persona_id);

CREATE TABLE message_contexts (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    report TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX message_contexts_conversation_id_idx ON message_contexts (conversation_id);
