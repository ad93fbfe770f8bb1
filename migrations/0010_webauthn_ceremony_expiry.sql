-- Each new ceremony sweeps the expired ones: by index, not by scanning the table.
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
