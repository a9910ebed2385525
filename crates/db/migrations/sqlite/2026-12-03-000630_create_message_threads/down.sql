DROP TABLE thread_reads;
DROP INDEX messages_thread_root_idx;
ALTER TABLE messages DROP COLUMN thread_root_id;
