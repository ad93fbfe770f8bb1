-- A second factor: a TOTP secret per account (pending until a first correct code turns
-- it on), its single-use recovery codes (SHA-256 of 80 random bits each), and the
-- sign-ins waiting for their second step (one row per latch_mfa cookie, spent once).
CREATE TABLE totp (
    user_id    TEXT PRIMARY KEY,
    -- Base32, as the authenticator app holds it.
    secret     TEXT NOT NULL,
    enabled_at BIGINT,
    -- The last 30 s step whose code was accepted: no code is accepted twice.
    last_step  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE mfa_challenges (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
