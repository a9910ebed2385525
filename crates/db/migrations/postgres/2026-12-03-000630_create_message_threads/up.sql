-- Issue 19: a reply thread under a message of a group or channel. Thread replies name their root
-- and stay off the main timeline (on_path false, no parent: the conversation tree never walks
-- into them); the index serves the thread's pages and the roots' reply counts.
ALTER TABLE messages ADD COLUMN thread_root_id BIGINT;
CREATE INDEX messages_thread_root_idx ON messages (thread_root_id, id);
-- How far each person has read each thread (the conversation's own marker is on its members).
CREATE TABLE thread_reads (
    root_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_read_message_id BIGINT NOT NULL,
    PRIMARY KEY (root_id, user_id)
);
