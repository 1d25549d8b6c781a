-- A personal address next to the account's own (often a work mailbox), confirmed by a link sent
-- to it: password resets asked for with it go to it, and badges are issued to it, so both outlive
-- the work mailbox. At most one per user; a pending address lives only in its link's token row.
-- Keep in step with migrations/sqlite/0024_personal_emails.sql (a test compares both schemas).

CREATE TABLE personal_emails (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    confirmed_at BIGINT NOT NULL,
    CONSTRAINT personal_emails_email_key UNIQUE (email_key)
);
