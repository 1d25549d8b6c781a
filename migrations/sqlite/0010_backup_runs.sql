-- Backups and restore drills as they ran: what the console, /readyz and the error mail report.
-- Keep in step with migrations/postgres/0010_backup_runs.sql (a test compares both schemas).

CREATE TABLE backup_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    ok INTEGER NOT NULL,
    archive TEXT NOT NULL DEFAULT '',
    bytes BIGINT NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backup_runs_kind_idx ON backup_runs (kind, ok, started_at);
