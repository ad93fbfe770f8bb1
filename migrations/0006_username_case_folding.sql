-- Usernames are unique by full Unicode case folding after NFKC (straße = STRASSE,
-- σασ = ΣΑΣ), where the first release used lower case. Keys cannot be folded in SQL:
-- rows keep version 1 until the server re-keys them at start-up (users::rekey_legacy);
-- a row whose folded key another account already holds stays at version 1 and is still
-- found by its old key.
ALTER TABLE users ADD COLUMN username_key_version BIGINT NOT NULL DEFAULT 1;
