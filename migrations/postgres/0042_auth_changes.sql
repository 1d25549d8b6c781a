-- The feed of changes to signed-in state (kernel/db/changes.rs): every update or delete of a
-- user or a session, by any process, so that each server's cache of signed-in users forgets it.
-- Keep in step with migrations/sqlite/0042_auth_changes.sql (a test compares both schemas).

-- Read by each server every 250 ms and pruned after an hour. On PostgreSQL the table stays
-- empty: notifications carry the changes there.
CREATE TABLE auth_changes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT,
    session_hash TEXT,
    changed_at BIGINT NOT NULL
);

-- this backend only: triggers notify the channel every server listens on, delivered when the
-- change commits: `u<id>` for a user, `s<id_hash>` for a session. A session's own row changes
-- once a minute while it is used (its idle expiry moves on), a user's at each login.
CREATE FUNCTION auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('auth_changes', 'u' || OLD.id);
    ELSE
        PERFORM pg_notify('auth_changes', 's' || OLD.id_hash);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION auth_changed();
CREATE TRIGGER sessions_changed AFTER UPDATE OR DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION auth_changed();
