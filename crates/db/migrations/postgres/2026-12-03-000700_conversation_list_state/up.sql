-- Each member's own arrangement of their conversation list: pinned to the top, or archived out
-- of the main list (issue 21, "managing chats"). Per member, not per conversation: one person's
-- pins and archive do not touch anyone else's list.
ALTER TABLE conversation_members ADD COLUMN pinned_at TIMESTAMP NULL;
ALTER TABLE conversation_members ADD COLUMN archived_at TIMESTAMP NULL;
