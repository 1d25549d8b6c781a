-- The staff console's user search (a substring of the username, email or name) on an index
-- instead of a pass over every user.
-- Keep in step with migrations/postgres/0041_user_search.sql (a test compares both schemas).

-- this backend only: an FTS5 table of trigrams (which answers LIKE '%…%' from its index; it
-- folds case itself), filled from the users table and kept in step by triggers.
CREATE VIRTUAL TABLE users_search USING fts5(words, tokenize = 'trigram');
INSERT INTO users_search (rowid, words)
    SELECT id, username_key || ' ' || email_key || ' ' || first_name || ' ' || last_name FROM users;
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search (rowid, words)
        VALUES (new.id, new.username_key || ' ' || new.email_key || ' ' || new.first_name || ' ' || new.last_name);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF username_key, email_key, first_name, last_name ON users BEGIN
    UPDATE users_search
        SET words = new.username_key || ' ' || new.email_key || ' ' || new.first_name || ' ' || new.last_name
        WHERE rowid = new.id;
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM users_search WHERE rowid = old.id;
END;
