-- Full-text search over posts. The app writes each post's words, folded (kernel::db::search),
-- into `search_text`; NULL means "not folded yet" (a post written by a release before this one),
-- which the app folds when it starts.
-- Keep in step with migrations/sqlite/0040_post_search.sql (a test compares both schemas).

ALTER TABLE posts ADD COLUMN search_text TEXT;

-- this backend only: a GIN index over the words. The 'simple' configuration only lower-cases
-- (the text already is) and has no stop words or stemming, like the SQLite side.
CREATE INDEX posts_search_idx ON posts USING GIN (to_tsvector('simple', search_text));
