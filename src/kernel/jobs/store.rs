//! SQL of the job queue.

use crate::kernel::db::{Backend, Db, Tx};

#[derive(Debug, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub created_at: i64,
}

pub async fn insert_job(tx: &mut Tx, kind: &str, payload: &str, max_attempts: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, created_at) \
         VALUES ($1, $2, 'queued', 0, $3, $4, $4)",
    )
    .bind(kind)
    .bind(payload)
    .bind(max_attempts)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const CLAIM_SQLITE: &str = "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_at = $1 \
     WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $1 ORDER BY run_at, id LIMIT 1) \
     RETURNING id, kind, payload, attempts, max_attempts, created_at";
// SKIP LOCKED lets several workers claim different jobs without waiting on each other.
const CLAIM_POSTGRES: &str = "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_at = $1 \
     WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= $1 ORDER BY run_at, id LIMIT 1 \
     FOR UPDATE SKIP LOCKED) RETURNING id, kind, payload, attempts, max_attempts, created_at";

pub async fn claim_job(db: &Db, now: i64) -> sqlx::Result<Option<ClaimedJob>> {
    let sql = match db.backend {
        Backend::Sqlite => CLAIM_SQLITE,
        Backend::Postgres => CLAIM_POSTGRES,
    };
    sqlx::query_as(sql).bind(now).fetch_optional(&db.pool).await
}

/// A finished job leaves no row behind, so its payload does not linger.
pub async fn delete_job(db: &Db, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM jobs WHERE id = $1").bind(id).execute(&db.pool).await?;
    Ok(())
}

pub async fn fail_job(db: &Db, id: i64, dead: bool, retry_at: i64, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE jobs SET status = CASE WHEN $2 THEN 'dead' ELSE 'queued' END, run_at = $3, \
         locked_at = NULL, last_error = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(dead)
    .bind(retry_at)
    .bind(error)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// (queued, running, queued again after a failure, dead).
pub async fn counts(db: &Db) -> sqlx::Result<(i64, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT COUNT(CASE WHEN status = 'queued' THEN 1 END), COUNT(CASE WHEN status = 'running' THEN 1 END), \
                COUNT(CASE WHEN status = 'queued' AND attempts > 0 THEN 1 END), COUNT(CASE WHEN status = 'dead' THEN 1 END) \
         FROM jobs",
    )
    .fetch_one(&db.pool)
    .await
}

pub async fn oldest_due(db: &Db, now: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE status = 'queued' AND run_at <= $1")
        .bind(now)
        .fetch_one(&db.pool)
        .await
}

/// Extends the lease of a job that is still running.
pub async fn renew_lease(db: &Db, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE jobs SET locked_at = $2 WHERE id = $1 AND status = 'running'")
        .bind(id)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Puts back running jobs whose lease ran out: their worker died while working on them.
pub async fn requeue_orphans(db: &Db, locked_before: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE jobs SET status = 'queued', locked_at = NULL WHERE status = 'running' AND locked_at < $1")
        .bind(locked_before)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Gives a running job back to the queue, due now: its worker is stopping and could not finish
/// it. The interrupted run still counts as an attempt, as it would after a crash.
pub async fn release_job(db: &Db, id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE jobs SET status = 'queued', locked_at = NULL, run_at = $2 WHERE id = $1 AND status = 'running'",
    )
    .bind(id)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}
