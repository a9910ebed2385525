CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    character_id BIGINT REFERENCES characters (id) ON DELETE SET NULL,
    role TEXT NOT NULL,
    message_type TEXT NOT NULL DEFAULT 'text',
    content TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    reply_to_id BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'complete',
    job_id TEXT,
    client_id TEXT,
    prompt_tokens BIGINT,
    completion_tokens BIGINT,
    model TEXT,
    created_at TIMESTAMP NOT NULL,
    edited_at TIMESTAMP,
    edited_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    deleted_at TIMESTAMP,
    CONSTRAINT messages_job_id_key UNIQUE (job_id),
    -- idempotent sends: a retried client id returns the stored message
    CONSTRAINT messages_client_key UNIQUE (conversation_id, author_id, client_id)
);
CREATE INDEX messages_conversation_id_id_idx ON messages (conversation_id, id);
CREATE INDEX messages_author_id_idx ON messages (author_id);
