//! Data changes that SQL alone cannot make, run by the app once after the schema migrations
//! (e.g. Unicode normalisation): the `data_migrations` table records which were done.

use super::Db;

pub async fn is_done(db: &Db, name: &str) -> sqlx::Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT name FROM data_migrations WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.pool)
        .await?;
    Ok(found.is_some())
}

pub async fn mark_done(db: &Db, name: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO data_migrations (name, applied_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(())
}
