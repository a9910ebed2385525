DROP TABLE message_contexts;
DROP TABLE conversation_personas;
DROP TABLE conversation_settings;
DROP TABLE conversation_lorebooks;
DROP TABLE lorebooks;
DROP TABLE personas;
