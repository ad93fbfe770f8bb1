-- One failure budget per account (the third security review). An attempt is counted
-- before its secret is checked and a back-off, once set, ends when it said:
-- `blocked_until` holds that end, so a single conditional UPDATE both checks and
-- counts. A quota counts in a fixed window from its first event: `window_started_at`.
ALTER TABLE throttles ADD COLUMN blocked_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE throttles ADD COLUMN window_started_at BIGINT NOT NULL DEFAULT 0;
UPDATE throttles SET window_started_at = last_failure_at;
-- What an attempt replaced, so that giving it back (its secret was right) restores
-- the count's time and wait exactly.
ALTER TABLE throttles ADD COLUMN previous_failure_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE throttles ADD COLUMN previous_blocked_until BIGINT NOT NULL DEFAULT 0;

-- Requests the throttle refused are one event per window and key, with how many.
ALTER TABLE audit_events ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
