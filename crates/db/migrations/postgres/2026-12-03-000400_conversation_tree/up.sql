-- Issue 15: a conversation is a tree of turns. Each message knows its parent (the turn it
-- follows); siblings under one parent are the variants of a turn (swipes, greetings) or the
-- branches an edit-and-rerun started. `on_path` marks the active path — the messages a client
-- shows and the worker's prompt follows — so every read stays one indexed filter; switching
-- branches rewrites the flags of the two sub-paths in one transaction.
ALTER TABLE messages ADD COLUMN parent_id BIGINT;
ALTER TABLE messages ADD COLUMN on_path BOOLEAN NOT NULL DEFAULT TRUE;
-- A linear history is a tree with one path: each message follows the one before it.
UPDATE messages SET parent_id = (
    SELECT MAX(p.id) FROM messages p
    WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id
);
CREATE INDEX messages_parent_idx ON messages (conversation_id, parent_id);
-- "Branch from here": the conversation and message a copied conversation started from.
ALTER TABLE conversations ADD COLUMN origin_conversation_id BIGINT;
ALTER TABLE conversations ADD COLUMN origin_message_id BIGINT;
