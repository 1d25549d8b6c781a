-- Badges earned elsewhere (Open Badges 2.0 assertions and 3.0 credentials) that a person
-- imported: what they gave us (a URL, JSON or a compact JWT; never the image), what it says,
-- and the last verification's outcome and report, re-checked periodically.
-- Keep in step with migrations/postgres/0022_badge_imports.sql (a test compares both schemas).

CREATE TABLE badge_imports (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source_id TEXT NOT NULL,
    ob_version TEXT NOT NULL,
    original TEXT NOT NULL,
    badge_name TEXT NOT NULL,
    issuer_name TEXT NOT NULL,
    image_url TEXT NOT NULL DEFAULT '',
    issued_on BIGINT,
    expires_at BIGINT,
    status TEXT NOT NULL,
    report TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT badge_imports_user_id UNIQUE (user_id, source_id)
);
CREATE INDEX badge_imports_verified_at_idx ON badge_imports (verified_at);
