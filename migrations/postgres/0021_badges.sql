-- Badges: classes staff design and awards to people. Ids are UUIDs kept as TEXT. An award keeps
-- the address it was issued to and its salt, so its Open Badges documents stay stable; its
-- status_index is its bit in the Open Badges 3.0 status list.
-- Keep in step with migrations/sqlite/0021_badges.sql (a test compares both schemas).

CREATE TABLE badge_classes (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    criteria TEXT NOT NULL,
    image_key TEXT,
    image_url TEXT,
    valid_days BIGINT,
    course_id TEXT,
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT badge_classes_slug UNIQUE (slug)
);

CREATE TABLE badge_awards (
    id TEXT PRIMARY KEY,
    badge_id TEXT NOT NULL REFERENCES badge_classes (id),
    recipient_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recipient_email TEXT NOT NULL,
    recipient_name TEXT NOT NULL,
    salt TEXT NOT NULL,
    issued_on BIGINT NOT NULL,
    expires_at BIGINT,
    evidence_url TEXT NOT NULL DEFAULT '',
    evidence_text TEXT NOT NULL DEFAULT '',
    issued_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    issued_by_name TEXT NOT NULL DEFAULT '',
    revoked_at BIGINT,
    revocation_reason TEXT NOT NULL DEFAULT '',
    status_index BIGINT NOT NULL,
    CONSTRAINT badge_awards_status_index UNIQUE (status_index)
);
CREATE INDEX badge_awards_recipient_idx ON badge_awards (recipient_id, issued_on);
CREATE INDEX badge_awards_badge_idx ON badge_awards (badge_id, issued_on);
