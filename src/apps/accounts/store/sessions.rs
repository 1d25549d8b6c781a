//! SQL over the signed-in sessions of users: list them, count them, end one, all or the
//! expired ones. The session layer's own reads and writes by id are the kernel's
//! (`kernel/session.rs`); these work on the user columns it copies.

use sqlx::AnyPool;

use crate::kernel::db::Db;

use crate::apps::accounts::model::SessionInfo;

pub async fn list_user_sessions(pool: &AnyPool, user_id: i64, now: i64) -> sqlx::Result<Vec<SessionInfo>> {
    sqlx::query_as(
        "SELECT id_hash, created_at, last_seen_at, ip, user_agent FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, created_at DESC",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(pool)
    .await
}

pub async fn count_sessions(pool: &AnyPool, user_id: i64, now: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expires_at > $2")
        .bind(user_id)
        .bind(now)
        .fetch_one(pool)
        .await
}

/// Ends one session of `user_id`; false when there was none by that name. Returns once this
/// process's session cache has forgotten it (`Changes::catch_up`).
pub async fn delete_user_session(db: &Db, user_id: i64, id_hash: &str) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash = $2")
        .bind(user_id)
        .bind(id_hash)
        .execute(&db.pool)
        .await?;
    db.changes.catch_up().await;
    Ok(result.rows_affected() == 1)
}

/// Ends every session of `user_id` except the one named `keep` (an `id_hash`), if given; as
/// `delete_user_session`, returns once this process's session cache has forgotten them.
pub async fn delete_user_sessions(db: &Db, user_id: i64, keep: Option<&str>) -> sqlx::Result<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(&db.pool)
        .await?;
    db.changes.catch_up().await;
    Ok(result.rows_affected())
}

pub async fn delete_expired_sessions(pool: &AnyPool, now: i64) -> sqlx::Result<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(pool).await?;
    Ok(result.rows_affected())
}
