-- Failed sign-ins (and registrations) counted per account and per client address, in
-- the database so that every instance sees the same counts. A row's block is derived:
-- past its free attempts, it waits 2^(extra failures) seconds after the last one (at
-- most 15 minutes); a quiet window resets it.
CREATE TABLE throttles (
    scope           TEXT NOT NULL,
    key             TEXT NOT NULL,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE INDEX sessions_user_ip ON sessions (user_id, ip);
