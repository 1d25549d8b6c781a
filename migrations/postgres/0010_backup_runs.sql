-- Backups and restore drills as they ran: what the console, /readyz and the error mail report.
-- Keep in step with migrations/sqlite/0010_backup_runs.sql (a test compares both schemas).

CREATE TABLE backup_runs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    ok BOOLEAN NOT NULL,
    archive TEXT NOT NULL DEFAULT '',
    bytes BIGINT NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_kind_idx ON backup_runs (kind, ok, started_at);
