-- Error mail: one row per error signature (the same error in the same place) with how often it
-- happened and how much of that has been mailed, and one row per mail for the hourly cap.
-- Keep in step with migrations/sqlite/0006_error_mail.sql (a test compares both schemas).

CREATE TABLE error_groups (
    signature TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    -- The first occurrence, scrubbed, as mailed.
    report TEXT NOT NULL,
    occurrences BIGINT NOT NULL,
    mailed_occurrences BIGINT NOT NULL DEFAULT 0,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    last_mailed_at BIGINT
);
CREATE INDEX error_groups_last_seen_idx ON error_groups (last_seen);

CREATE TABLE error_mails (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    signature TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX error_mails_sent_at_idx ON error_mails (sent_at);
