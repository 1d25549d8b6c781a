-- Progress towards a badge, as the learning platform last reported it: read by a background job
-- (never inside a request) and shown with the time it was read. A failed read keeps the last
-- known progress and notes the failure.
-- Keep in step with migrations/sqlite/0023_badge_progress.sql (a test compares both schemas).

CREATE TABLE badge_progress (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    badge_id TEXT NOT NULL REFERENCES badge_classes (id) ON DELETE CASCADE,
    percent BIGINT,
    completed BIGINT NOT NULL DEFAULT 0,
    read_at BIGINT,
    attempted_at BIGINT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, badge_id)
);
CREATE INDEX badge_progress_attempted_at_idx ON badge_progress (attempted_at);
