-- The micro-blog: posts (optionally with an image) and likes.
-- Keep in step with migrations/postgres/0002_blog.sql (a test compares both schemas).

CREATE TABLE posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    body TEXT NOT NULL,
    image_key TEXT,
    thumb_key TEXT,
    image_bytes BIGINT NOT NULL DEFAULT 0,
    like_count BIGINT NOT NULL DEFAULT 0,
    client_ip TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX posts_created_at_idx ON posts (created_at, id);
CREATE INDEX posts_author_id_idx ON posts (author_id, created_at);
CREATE INDEX posts_client_ip_idx ON posts (client_ip, created_at);

CREATE TABLE likes (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    CONSTRAINT likes_pkey PRIMARY KEY (post_id, user_id)
);
CREATE INDEX likes_user_id_idx ON likes (user_id, created_at);

-- Image files whose post is gone, removed from storage by the cleanup job.
CREATE TABLE orphan_media (
    media_key TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
