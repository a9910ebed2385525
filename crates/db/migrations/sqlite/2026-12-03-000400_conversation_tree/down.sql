ALTER TABLE conversations DROP COLUMN origin_message_id;
ALTER TABLE conversations DROP COLUMN origin_conversation_id;
DROP INDEX messages_parent_idx;
ALTER TABLE messages DROP COLUMN on_path;
ALTER TABLE messages DROP COLUMN parent_id;
