-- The admin console: an audit trail of every change, and where each session signs in from.
-- Keep in step with migrations/sqlite/0003_admin.sql (a test compares both schemas).

ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;

-- No foreign keys: the trail outlives the users and posts it speaks of.
CREATE TABLE audit_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at BIGINT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id BIGINT,
    target_name TEXT NOT NULL DEFAULT '',
    changes TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_created_at_idx ON audit_events (created_at, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_type, target_id, created_at);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, created_at);
CREATE INDEX audit_events_action_idx ON audit_events (action, created_at);

-- The console's user list filters and sorts these on 100,000 rows.
CREATE INDEX users_last_login_idx ON users (last_login);
CREATE INDEX users_flags_idx ON users (is_active, is_staff, date_joined);
