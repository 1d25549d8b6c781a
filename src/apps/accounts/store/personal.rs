//! Personal email addresses: at most one confirmed address per user, next to the account's own.

use sqlx::AnyPool;

use crate::apps::accounts::model::TokenPurpose;
use crate::kernel::db::Tx;

/// The user's confirmed personal address.
pub async fn personal_email(pool: &AnyPool, user_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT email FROM personal_emails WHERE user_id = $1").bind(user_id).fetch_optional(pool).await
}

/// The address of the user's newest live personal-email link: the one waiting to be confirmed.
pub async fn pending_personal_email(pool: &AnyPool, user_id: i64, now: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT email FROM user_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
         ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(user_id)
    .bind(TokenPurpose::PersonalEmail.as_str())
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// Sets (or replaces) the user's personal address, confirmed now.
pub async fn set_personal_email(tx: &mut Tx, user_id: i64, email: &str, email_key: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM personal_emails WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
    sqlx::query("INSERT INTO personal_emails (user_id, email, email_key, confirmed_at) VALUES ($1, $2, $3, $4)")
        .bind(user_id)
        .bind(email)
        .bind(email_key)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes the user's personal address; false when there was none.
pub async fn delete_personal_email(tx: &mut Tx, user_id: i64) -> sqlx::Result<bool> {
    let result = sqlx::query("DELETE FROM personal_emails WHERE user_id = $1").bind(user_id).execute(&mut **tx).await?;
    Ok(result.rows_affected() > 0)
}
