CREATE TABLE friendships (
    id BIGSERIAL PRIMARY KEY,
    requester_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    addressee_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- "small:large" user ids: at most one friendship per pair, whoever asked first
    pair_key TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    created_at TIMESTAMP NOT NULL,
    responded_at TIMESTAMP,
    CONSTRAINT friendships_requester_addressee_key UNIQUE (requester_id, addressee_id),
    CONSTRAINT friendships_pair_key_key UNIQUE (pair_key)
);
CREATE INDEX friendships_addressee_id_idx ON friendships (addressee_id);

CREATE TABLE blocks (
    blocker_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked_id_idx ON blocks (blocked_id);
