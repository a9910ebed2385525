DROP TABLE common_prompts;
DROP TABLE characters;
