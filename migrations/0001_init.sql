-- Users, their sessions (one per sign-in) and the signing keys.
-- Timestamps are unix seconds; ids are UUID text. One set of migrations serves SQLite
-- and PostgreSQL alike: only SQL both accept.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    -- NFKC + lower case: uniqueness is case-insensitive.
    username_key  TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The jti of the one refresh token that may rotate this session next.
    refresh_jti  TEXT NOT NULL,
    -- The jti it replaced, honoured for a short grace window after rotated_at.
    previous_jti TEXT,
    rotated_at   BIGINT,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    user_agent   TEXT,
    ip           TEXT
);

CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE jwt_keys (
    -- 'signing': at most one, however many instances start at once.
    slot       TEXT PRIMARY KEY,
    kid        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
