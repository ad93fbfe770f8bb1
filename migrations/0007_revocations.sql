-- Sessions revoked lately, read by every instance to refuse their still-unexpired
-- access tokens. Kept apart from `sessions` so that a deleted account's sessions,
-- deleted with it, are still known to be revoked; rows older than an access-token
-- lifetime are of no more use and are pruned.
CREATE TABLE revoked_sessions (
    sid        TEXT PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX revoked_sessions_at ON revoked_sessions (revoked_at);
