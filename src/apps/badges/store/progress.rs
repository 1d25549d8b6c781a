//! SQL of learning progress.

use sqlx::AnyPool;

use crate::apps::badges::model::Progress;

/// (user id, email, badge id, course id) pairs whose progress is older than `stale_before` (or
/// never read), for people who logged in since `active_since`; at most `limit`.
pub async fn stale_progress(
    pool: &AnyPool,
    stale_before: i64,
    active_since: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String, String, String)>> {
    sqlx::query_as(
        "SELECT u.id, u.email, c.id, c.course_id FROM users u CROSS JOIN badge_classes c \
         LEFT JOIN badge_progress p ON p.user_id = u.id AND p.badge_id = c.id \
         WHERE c.course_id IS NOT NULL AND u.is_active = TRUE AND u.last_login >= $2 \
           AND (p.attempted_at IS NULL OR p.attempted_at < $1) \
           AND NOT EXISTS (SELECT 1 FROM badge_awards a WHERE a.recipient_id = u.id AND a.badge_id = c.id AND a.revoked_at IS NULL) \
         ORDER BY COALESCE(p.attempted_at, 0), u.id LIMIT $3",
    )
    .bind(stale_before)
    .bind(active_since)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A successful read.
pub async fn record_progress(
    pool: &AnyPool,
    user_id: i64,
    badge_id: &str,
    percent: i64,
    completed: bool,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO badge_progress (user_id, badge_id, percent, completed, read_at, attempted_at, last_error) \
         VALUES ($1, $2, $3, $4, $5, $5, '') ON CONFLICT (user_id, badge_id) DO UPDATE SET \
         percent = excluded.percent, completed = excluded.completed, read_at = excluded.read_at, \
         attempted_at = excluded.attempted_at, last_error = ''",
    )
    .bind(user_id)
    .bind(badge_id)
    .bind(percent)
    .bind(i64::from(completed))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// A failed read: the last known progress stays.
pub async fn record_failure(pool: &AnyPool, user_id: i64, badge_id: &str, error: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO badge_progress (user_id, badge_id, attempted_at, last_error) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, badge_id) DO UPDATE SET attempted_at = excluded.attempted_at, last_error = excluded.last_error",
    )
    .bind(user_id)
    .bind(badge_id)
    .bind(now)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn progress_of(pool: &AnyPool, user_id: i64) -> sqlx::Result<Vec<Progress>> {
    sqlx::query_as("SELECT badge_id, percent, read_at, attempted_at, last_error FROM badge_progress WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(pool)
        .await
}
