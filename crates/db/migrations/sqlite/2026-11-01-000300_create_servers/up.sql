CREATE TABLE servers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    visibility TEXT NOT NULL DEFAULT 'private',
    invite_code TEXT NOT NULL,
    icon_url TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT servers_invite_code_key UNIQUE (invite_code)
);
CREATE INDEX servers_owner_id_idx ON servers (owner_id);

CREATE TABLE server_members (
    server_id BIGINT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL DEFAULT 'member',
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (server_id, user_id)
);
CREATE INDEX server_members_user_id_idx ON server_members (user_id);
