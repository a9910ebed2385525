DROP TABLE conversation_characters;
DROP TABLE conversation_members;
DROP TABLE conversations;
