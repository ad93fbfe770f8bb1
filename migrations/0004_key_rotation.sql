-- Several signing keys: each starts signing at activates_at (0 for the first), so a
-- rotated key is known to every instance before any token carries it.
ALTER TABLE jwt_keys ADD COLUMN activates_at BIGINT NOT NULL DEFAULT 0;
