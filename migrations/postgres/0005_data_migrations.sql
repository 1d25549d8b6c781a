-- Data changes that SQL alone cannot make (e.g. Unicode normalisation of usernames), done once
-- by the app after the schema migrations; a row records that one was done.
-- Keep in step with migrations/sqlite/0005_data_migrations.sql (a test compares both schemas).

CREATE TABLE data_migrations (
    name TEXT PRIMARY KEY,
    applied_at BIGINT NOT NULL
);
