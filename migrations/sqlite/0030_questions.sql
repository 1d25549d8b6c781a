-- One-question pages fed by an outside JSON API: the question's source and rule, the last good
-- answer with its day and time, the last error, and when the refresh job reads it next.
-- Keep in step with migrations/postgres/0030_questions.sql (a test compares both schemas).
-- Flags are INTEGER here (sqlx's Any driver cannot read SQLite's BOOLEAN); numbers are REAL.

CREATE TABLE questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    source_url TEXT NOT NULL,
    header_name TEXT NOT NULL DEFAULT '',
    header_value TEXT NOT NULL DEFAULT '',
    json_path TEXT NOT NULL,
    aggregate TEXT NOT NULL,
    compare_op TEXT NOT NULL DEFAULT '',
    compare_value REAL NOT NULL DEFAULT 0,
    empty_is_zero INTEGER NOT NULL DEFAULT 0,
    yes_text TEXT NOT NULL,
    no_text TEXT NOT NULL,
    unknown_text TEXT NOT NULL,
    refresh_secs BIGINT NOT NULL,
    time_zone TEXT NOT NULL,
    answer TEXT,
    answer_number REAL,
    answer_day TEXT,
    answered_at BIGINT,
    last_error TEXT,
    last_error_kind TEXT,
    last_error_at BIGINT,
    failures BIGINT NOT NULL DEFAULT 0,
    next_fetch_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT questions_slug UNIQUE (slug)
);
CREATE INDEX questions_next_fetch_at_idx ON questions (next_fetch_at);

-- The answer per local day (the last good one read that day), for the page's history.
CREATE TABLE question_answers (
    question_id BIGINT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    answer TEXT NOT NULL,
    answer_number REAL,
    answered_at BIGINT NOT NULL,
    CONSTRAINT question_answers_pkey PRIMARY KEY (question_id, day)
);
