-- Usernames are unique ignoring case ("Alice" and "alice" are one name). They are ASCII, so
-- lower() agrees on both backends. Existing clashes stop the migration with a report of the
-- names (db::migrate checks before it runs) instead of being merged silently.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
