DROP TABLE message_pins;
