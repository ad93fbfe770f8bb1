-- Accounts, part one: an optional email address per user, single-use links (email
-- verification and password reset, stored only as hashes), how each session signed in,
-- and the transactional outbox that mail waits in until it is delivered.

ALTER TABLE users ADD COLUMN email TEXT;
-- The address in lower case: what look-ups compare. Not unique: whether an address
-- belongs to another account must never show.
ALTER TABLE users ADD COLUMN email_key TEXT;
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
CREATE INDEX users_email_key ON users (email_key);

-- 'password' (also registration), 'reset', and later 'password+totp', 'passkey'.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';

CREATE TABLE account_links (
    -- SHA-256 of the token, hex: the token itself is only ever in the mail.
    token_hash TEXT PRIMARY KEY,
    -- 'verify_email' or 'reset_password'.
    purpose    TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- For 'verify_email': the address this link verifies.
    email      TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    -- Set when a newer link of the same purpose, or a password change, replaced it.
    superseded_at BIGINT
);
CREATE INDEX account_links_user ON account_links (user_id, purpose);

-- Mail accepted by a request, recorded in the same transaction as what caused it and
-- delivered by a background worker on some instance. A worker claims a message by
-- setting claimed_until (a lease), so several instances never send one twice; a lease
-- left by a killed instance runs out and the message is claimed again.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    -- The account it concerns, so a deleted account's unsent mail goes with it.
    user_id         TEXT,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT,
    -- Once sent, the recipient and bodies are blanked: the links inside are secrets.
    sent_at         BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);
