//! Recurring jobs. Each schedule is a row with its next due time; every process may tick, and
//! the conditional UPDATE lets exactly one of them enqueue each occurrence.

use crate::kernel::db::Db;

#[derive(Clone, Debug)]
pub struct Schedule {
    pub name: &'static str,
    pub every_secs: i64,
    /// The job kind to enqueue, with an empty payload.
    pub kind: &'static str,
}

pub async fn register(db: &Db, schedules: &[Schedule], now: i64) -> anyhow::Result<()> {
    for s in schedules {
        sqlx::query("INSERT INTO schedules (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(s.name)
            .bind(now + s.every_secs)
            .execute(&db.pool)
            .await?;
    }
    Ok(())
}

pub async fn enqueue_due(db: &Db, schedules: &[Schedule], now: i64) -> anyhow::Result<()> {
    for s in schedules {
        // A cheap read first, so idle ticks never take SQLite's write lock.
        let due: Option<i64> =
            sqlx::query_scalar("SELECT next_run_at FROM schedules WHERE name = $1 AND next_run_at <= $2")
                .bind(s.name)
                .bind(now)
                .fetch_optional(&db.pool)
                .await?;
        if due.is_none() {
            continue;
        }
        let mut tx = db.begin_write().await?;
        let won = sqlx::query("UPDATE schedules SET next_run_at = $1 WHERE name = $2 AND next_run_at <= $3")
            .bind(now + s.every_secs)
            .bind(s.name)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if won {
            super::enqueue(&mut tx, s.kind, &serde_json::json!({}), now).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}
