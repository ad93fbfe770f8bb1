-- Authentication events: who did what, when, from where. Never a password or a token.
CREATE TABLE audit_events (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    event      TEXT NOT NULL,
    user_id    TEXT,
    session_id TEXT,
    ip         TEXT,
    user_agent TEXT
);

CREATE INDEX audit_events_user_at ON audit_events (user_id, at);
