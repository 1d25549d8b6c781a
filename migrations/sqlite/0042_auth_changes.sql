-- The feed of changes to signed-in state (kernel/db/changes.rs): every update or delete of a
-- user or a session, by any process, so that each server's cache of signed-in users forgets it.
-- Keep in step with migrations/postgres/0042_auth_changes.sql (a test compares both schemas).

-- Read by each server every 250 ms and pruned after an hour. On PostgreSQL the table stays
-- empty: notifications carry the changes there.
CREATE TABLE auth_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT,
    session_hash TEXT,
    changed_at BIGINT NOT NULL
);

-- this backend only: triggers append to the table. A session's own row changes once a minute
-- while it is used (its idle expiry moves on), a user's at each login.
CREATE TRIGGER users_changed_update AFTER UPDATE ON users BEGIN
    INSERT INTO auth_changes (user_id, changed_at) VALUES (old.id, unixepoch());
END;
CREATE TRIGGER users_changed_delete AFTER DELETE ON users BEGIN
    INSERT INTO auth_changes (user_id, changed_at) VALUES (old.id, unixepoch());
END;
CREATE TRIGGER sessions_changed_update AFTER UPDATE ON sessions BEGIN
    INSERT INTO auth_changes (session_hash, changed_at) VALUES (old.id_hash, unixepoch());
END;
CREATE TRIGGER sessions_changed_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO auth_changes (session_hash, changed_at) VALUES (old.id_hash, unixepoch());
END;
