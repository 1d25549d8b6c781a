//! SQL of imported badges.

use sqlx::AnyPool;

use crate::apps::badges::model::Imported;
use crate::kernel::db::Tx;

/// The same badge imported twice by one person.
pub const IMPORT_KEY: &str = "badge_imports_user_id";

macro_rules! select_imports {
    ($tail:literal) => {
        concat!(
            "SELECT id, user_id, source_id, ob_version, original, badge_name, issuer_name, image_url, issued_on, \
             expires_at, status, report, verified_at FROM badge_imports ",
            $tail
        )
    };
}

pub async fn insert_import(tx: &mut Tx, import: &Imported, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO badge_imports (id, user_id, source_id, ob_version, original, badge_name, issuer_name, image_url, \
         issued_on, expires_at, status, report, verified_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
    )
    .bind(&import.id)
    .bind(import.user_id)
    .bind(&import.source_id)
    .bind(&import.ob_version)
    .bind(&import.original)
    .bind(&import.badge_name)
    .bind(&import.issuer_name)
    .bind(&import.image_url)
    .bind(import.issued_on)
    .bind(import.expires_at)
    .bind(&import.status)
    .bind(&import.report)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A re-verification's outcome.
pub async fn update_verification(pool: &AnyPool, id: &str, status: &str, report: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE badge_imports SET status = $2, report = $3, verified_at = $4 WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(report)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn imports_of(pool: &AnyPool, user_id: i64) -> sqlx::Result<Vec<Imported>> {
    sqlx::query_as(select_imports!("WHERE user_id = $1 ORDER BY created_at DESC, id"))
        .bind(user_id)
        .fetch_all(pool)
        .await
}

pub async fn find_import(pool: &AnyPool, id: &str) -> sqlx::Result<Option<Imported>> {
    sqlx::query_as(select_imports!("WHERE id = $1")).bind(id).fetch_optional(pool).await
}

/// Imports last verified before `before`, oldest first.
pub async fn stale_imports(pool: &AnyPool, before: i64, limit: i64) -> sqlx::Result<Vec<Imported>> {
    sqlx::query_as(select_imports!("WHERE verified_at < $1 ORDER BY verified_at LIMIT $2"))
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await
}

pub async fn delete_import(pool: &AnyPool, id: &str, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM badge_imports WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(())
}
