-- Passkeys (WebAuthn discoverable credentials), and the ceremonies in flight between
-- their two requests (which may reach two instances, hence kept here, not in memory).
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    -- The authenticator's credential id, base64url: what a sign-in names.
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    -- webauthn-rs's Passkey as JSON: the public key and the signature counter.
    credential    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

CREATE TABLE webauthn_ceremonies (
    id         TEXT PRIMARY KEY,
    -- 'register' (with the user and the name asked for) or 'sign_in' (anonymous).
    purpose    TEXT NOT NULL,
    user_id    TEXT,
    name       TEXT,
    -- webauthn-rs's ceremony state as JSON: the challenge the browser must sign.
    state      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
