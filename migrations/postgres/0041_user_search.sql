-- The staff console's user search (a substring of the username, email or name) on an index
-- instead of a pass over every user.
-- Keep in step with migrations/sqlite/0041_user_search.sql (a test compares both schemas).

-- this backend only: a GIN index of trigrams (pg_trgm, which answers LIKE '%…%' from it) over
-- the same words, lower-cased. pg_trgm is a trusted extension: the database's owner, which the
-- site's role is, may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search_idx ON users USING GIN (
    (username_key || ' ' || email_key || ' ' || lower(first_name) || ' ' || lower(last_name)) gin_trgm_ops
);
