ALTER TABLE messages DROP COLUMN mention_everyone;
DROP TABLE message_mentions;
