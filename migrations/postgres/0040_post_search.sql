-- Full-text search over posts. The app writes each post's words, folded (kernel::db::search),
-- into `search_text`; NULL means "not folded yet" (a post written by a release before this one),
-- which the app folds when it starts.
-- Keep in step with migrations/sqlite/0040_post_search.sql (a test compares both schemas).

ALTER TABLE posts ADD COLUMN search_text TEXT;
-- What the app looks for when it starts: without this, a pass over every post (0.2 s at 1,000,000).
CREATE INDEX posts_unsearchable_idx ON posts (id) WHERE search_text IS NULL;

-- this backend only: the words as a stored tsvector with a GIN index. The 'simple' configuration
-- only lower-cases (the text already is) and has no stop words or stemming, like the SQLite side.
-- Stored, not an index on the expression: a search for a common word tests posts one by one
-- down the primary key, and computing each one's vector again cost 15 times as much. It is
-- derived data: PostgreSQL computes it on every write, and `db copy` leaves it out.
ALTER TABLE posts ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', COALESCE(search_text, ''))) STORED;
CREATE INDEX posts_search_idx ON posts USING GIN (search_vector);
