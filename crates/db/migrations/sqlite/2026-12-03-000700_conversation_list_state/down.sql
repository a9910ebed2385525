ALTER TABLE conversation_members DROP COLUMN archived_at;
ALTER TABLE conversation_members DROP COLUMN pinned_at;
