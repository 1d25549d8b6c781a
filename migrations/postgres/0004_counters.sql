-- Running totals kept in the same transaction as the rows they count, so the post list does not
-- count 10,000 rows on every page view.
-- Keep in step with migrations/sqlite/0004_counters.sql (a test compares both schemas).

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) SELECT 'posts', COUNT(*) FROM posts;
INSERT INTO counters (name, value) SELECT 'users', COUNT(*) FROM users;
