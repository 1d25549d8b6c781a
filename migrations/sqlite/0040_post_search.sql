-- Full-text search over posts. The app writes each post's words, folded (kernel::db::search),
-- into `search_text`; NULL means "not folded yet" (a post written by a release before this one),
-- which the app folds when it starts.
-- Keep in step with migrations/postgres/0040_post_search.sql (a test compares both schemas).

ALTER TABLE posts ADD COLUMN search_text TEXT;
-- What the app looks for when it starts: without this, a pass over every post (0.2 s at 1,000,000).
CREATE INDEX posts_unsearchable_idx ON posts (id) WHERE search_text IS NULL;

-- this backend only: an FTS5 index over the column, kept in step by triggers. The `ascii`
-- tokenizer splits only where the app put spaces (it treats every non-ASCII character as part of
-- a word), so SQLite's own Unicode tables never decide what a word is.
CREATE VIRTUAL TABLE posts_fts USING fts5(search_text, content = 'posts', content_rowid = 'id', tokenize = 'ascii');
CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER posts_fts_update AFTER UPDATE OF search_text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO posts_fts (rowid, search_text) VALUES (new.id, new.search_text);
END;
