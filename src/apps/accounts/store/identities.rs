//! SQL of single sign-on: the (issuer, subject) identities linked to users.

use sqlx::AnyPool;

use crate::kernel::db::Tx;

/// The unique constraint on (issuer, subject): two first logins of one person raced.
pub const IDENTITY_KEY: &str = "user_identities_issuer";

pub struct NewIdentity<'a> {
    pub user_id: i64,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
}

/// The user linked to this provider's subject, if any.
pub async fn find_identity_user(tx: &mut Tx, issuer: &str, subject: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2")
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn insert_identity(tx: &mut Tx, identity: &NewIdentity<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO user_identities (user_id, issuer, subject, email, email_verified, created_at, last_login_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(identity.user_id)
    .bind(identity.issuer)
    .bind(identity.subject)
    .bind(identity.email)
    .bind(identity.email_verified)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// At each login: the email as the provider now sends it, and the time.
pub async fn touch_identity(tx: &mut Tx, identity: &NewIdentity<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE user_identities SET email = $3, email_verified = $4, last_login_at = $5 \
         WHERE issuer = $1 AND subject = $2",
    )
    .bind(identity.issuer)
    .bind(identity.subject)
    .bind(identity.email)
    .bind(identity.email_verified)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Staff status as the provider's claims say at this login.
pub async fn update_staff(tx: &mut Tx, user_id: i64, is_staff: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET is_staff = $2 WHERE id = $1").bind(user_id).bind(is_staff).execute(&mut **tx).await?;
    Ok(())
}

/// An account made by single sign-on whose provider did not vouch for the address.
pub async fn unconfirm_email(tx: &mut Tx, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET email_confirmed_at = NULL WHERE id = $1").bind(user_id).execute(&mut **tx).await?;
    Ok(())
}

/// The providers a user signs in with, for the profile page and the data export.
pub async fn identities_of(pool: &AnyPool, user_id: i64) -> sqlx::Result<Vec<(String, String, i64)>> {
    sqlx::query_as("SELECT issuer, email, last_login_at FROM user_identities WHERE user_id = $1 ORDER BY id")
        .bind(user_id)
        .fetch_all(pool)
        .await
}
