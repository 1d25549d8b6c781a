//! SQL of awards.

use sqlx::AnyPool;

use crate::apps::badges::model::Award;
use crate::kernel::db::Tx;

macro_rules! select_awards {
    ($tail:literal) => {
        concat!(
            "SELECT id, badge_id, recipient_id, recipient_email, recipient_name, salt, issued_on, expires_at, \
             evidence_url, evidence_text, issued_by_name, revoked_at, revocation_reason, status_index \
             FROM badge_awards ",
            $tail
        )
    };
}

pub struct NewAward<'a> {
    pub id: &'a str,
    pub badge_id: &'a str,
    pub recipient_id: i64,
    pub recipient_email: &'a str,
    pub recipient_name: &'a str,
    pub salt: &'a str,
    pub expires_at: Option<i64>,
    pub evidence_url: &'a str,
    pub evidence_text: &'a str,
    pub issued_by: (i64, &'a str),
}

/// Inserts the award with the next free status-list index.
pub async fn insert_award(tx: &mut Tx, award: &NewAward<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO badge_awards (id, badge_id, recipient_id, recipient_email, recipient_name, salt, issued_on, \
         expires_at, evidence_url, evidence_text, issued_by, issued_by_name, status_index) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, COALESCE(MAX(status_index), -1) + 1 FROM badge_awards",
    )
    .bind(award.id)
    .bind(award.badge_id)
    .bind(award.recipient_id)
    .bind(award.recipient_email)
    .bind(award.recipient_name)
    .bind(award.salt)
    .bind(now)
    .bind(award.expires_at)
    .bind(award.evidence_url)
    .bind(award.evidence_text)
    .bind(award.issued_by.0)
    .bind(award.issued_by.1)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn find_award(pool: &AnyPool, id: &str) -> sqlx::Result<Option<Award>> {
    sqlx::query_as(select_awards!("WHERE id = $1")).bind(id).fetch_optional(pool).await
}

pub async fn awards_of(pool: &AnyPool, user_id: i64) -> sqlx::Result<Vec<Award>> {
    sqlx::query_as(select_awards!("WHERE recipient_id = $1 ORDER BY issued_on DESC, id"))
        .bind(user_id)
        .fetch_all(pool)
        .await
}

pub async fn awards_of_badge(pool: &AnyPool, badge_id: &str) -> sqlx::Result<Vec<Award>> {
    sqlx::query_as(select_awards!("WHERE badge_id = $1 ORDER BY issued_on DESC, id"))
        .bind(badge_id)
        .fetch_all(pool)
        .await
}

/// Whether the user holds a live (unrevoked) award of this badge.
pub async fn holds_badge(pool: &AnyPool, user_id: i64, badge_id: &str) -> sqlx::Result<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM badge_awards WHERE recipient_id = $1 AND badge_id = $2 AND revoked_at IS NULL LIMIT 1",
    )
    .bind(user_id)
    .bind(badge_id)
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}

/// Revokes once; false when it was already revoked.
pub async fn revoke_award(tx: &mut Tx, id: &str, reason: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE badge_awards SET revoked_at = $2, revocation_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every revoked award (for the Open Badges 2.0 revocation list and the 3.0 status list).
pub async fn revoked_awards(pool: &AnyPool) -> sqlx::Result<Vec<(String, i64, String)>> {
    sqlx::query_as("SELECT id, status_index, revocation_reason FROM badge_awards WHERE revoked_at IS NOT NULL ORDER BY status_index")
        .fetch_all(pool)
        .await
}

pub async fn count_awards(pool: &AnyPool, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM badge_awards WHERE recipient_id = $1").bind(user_id).fetch_one(pool).await
}
