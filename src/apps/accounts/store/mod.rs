//! All SQL of the accounts app: users, emailed-link tokens and failed-login counters;
//! `staff` holds the queries of the staff list and the admin console, `sessions` those over a
//! user's signed-in sessions, `identities` those of single sign-on, `personal` those of personal
//! email addresses.

mod identities;
mod personal;
mod sessions;
mod staff;

pub use identities::*;
pub use personal::*;
pub use sessions::*;
pub use staff::*;

use sqlx::AnyPool;

use super::model::{Names, NewUser, TokenPurpose, User, UserToken};
use crate::kernel::db::Tx;

/// Every column `User` reads; none of them is also a column of `sessions`, which it is joined with.
macro_rules! user_columns {
    () => {
        "id, username, email, password_hash, first_name, last_name, nickname, is_active, is_staff, \
         is_superuser, email_confirmed_at, date_joined, last_login"
    };
}

/// `SELECT <every user column> FROM users <tail>` as one static string (no SQL is built at run time).
macro_rules! select_users {
    ($tail:literal) => {
        concat!("SELECT ", user_columns!(), " FROM users ", $tail)
    };
}

pub async fn find_user(pool: &AnyPool, id: i64) -> sqlx::Result<Option<User>> {
    sqlx::query_as(select_users!("WHERE id = $1")).bind(id).fetch_optional(pool).await
}

/// A user as `tx` sees it (a row it has just written included).
pub async fn find_user_in(tx: &mut Tx, id: i64) -> sqlx::Result<Option<User>> {
    sqlx::query_as(select_users!("WHERE id = $1")).bind(id).fetch_optional(&mut **tx).await
}

/// A live session's stored data and expiry, with its signed-in user.
pub struct SessionUser {
    pub data: String,
    pub expires_at: i64,
    pub user: User,
}

/// The live session whose id hashes to `id_hash`, as its stored data, with its signed-in user:
/// one query where the session layer and a user lookup would make two, on every request of a
/// signed-in user.
pub async fn find_session_user(pool: &AnyPool, id_hash: &str, now: i64) -> sqlx::Result<Option<SessionUser>> {
    let row = sqlx::query(concat!(
        "SELECT sessions.data AS session_data, sessions.expires_at AS session_expires_at, ",
        user_columns!(),
        " FROM sessions JOIN users ON users.id = sessions.user_id WHERE sessions.id_hash = $1 AND sessions.expires_at > $2"
    ))
    .bind(id_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(SessionUser {
            data: sqlx::Row::try_get(&row, "session_data")?,
            expires_at: sqlx::Row::try_get(&row, "session_expires_at")?,
            user: sqlx::FromRow::from_row(&row)?,
        })
    })
    .transpose()
}

/// The user whose username or email matches `key` (already lower-cased).
pub async fn find_user_by_login(pool: &AnyPool, key: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as(select_users!("WHERE username_key = $1 OR email_key = $1 ORDER BY id LIMIT 1"))
        .bind(key)
        .fetch_optional(pool)
        .await
}

pub async fn find_user_by_email(pool: &AnyPool, email_key: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as(select_users!("WHERE email_key = $1")).bind(email_key).fetch_optional(pool).await
}

/// The user whose confirmed personal address is `email_key`.
pub async fn find_user_by_personal_email(pool: &AnyPool, email_key: &str) -> sqlx::Result<Option<User>> {
    sqlx::query_as(select_users!("WHERE id = (SELECT user_id FROM personal_emails WHERE email_key = $1)"))
        .bind(email_key)
        .fetch_optional(pool)
        .await
}

pub async fn username_taken(pool: &AnyPool, username_key: &str) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username_key = $1")
        .bind(username_key)
        .fetch_optional(pool)
        .await?;
    Ok(found.is_some())
}

/// Whether the address is an account's, or someone's confirmed personal address.
pub async fn email_taken(tx: &mut Tx, email_key: &str) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM users WHERE email_key = $1 UNION ALL SELECT user_id FROM personal_emails WHERE email_key = $1",
    )
    .bind(email_key)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.is_some())
}

pub async fn insert_user(tx: &mut Tx, user: &NewUser, now: i64) -> sqlx::Result<i64> {
    let confirmed_at = user.is_active.then_some(now);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, username_key, email, email_key, password_hash, first_name, last_name, \
         nickname, is_active, is_staff, is_superuser, email_confirmed_at, date_joined) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(user.username.as_str())
    .bind(user.username.key())
    .bind(user.email.as_str())
    .bind(user.email.key())
    .bind(&user.password_hash)
    .bind(&user.names.first_name)
    .bind(&user.names.last_name)
    .bind(&user.names.nickname)
    .bind(user.is_active)
    .bind(user.is_staff)
    .bind(user.is_superuser)
    .bind(confirmed_at)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    bump_user_total(tx, 1).await?;
    Ok(id)
}

pub async fn activate_user(tx: &mut Tx, user_id: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET is_active = TRUE, email_confirmed_at = $2 WHERE id = $1")
        .bind(user_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn update_names(tx: &mut Tx, user_id: i64, names: &Names) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET first_name = $2, last_name = $3, nickname = $4 WHERE id = $1")
        .bind(user_id)
        .bind(&names.first_name)
        .bind(&names.last_name)
        .bind(&names.nickname)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn update_email(tx: &mut Tx, user_id: i64, email: &str, email_key: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET email = $2, email_key = $3 WHERE id = $1")
        .bind(user_id)
        .bind(email)
        .bind(email_key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn update_password_hash(executor: &mut Tx, user_id: i64, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(user_id)
        .bind(hash)
        .execute(&mut **executor)
        .await?;
    Ok(())
}

/// After a successful login: the time, and a fresh hash when the parameters were raised.
pub async fn record_login(tx: &mut Tx, user_id: i64, now: i64, new_hash: Option<&str>) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET last_login = $2, password_hash = COALESCE($3, password_hash) WHERE id = $1")
        .bind(user_id)
        .bind(now)
        .bind(new_hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn delete_user(tx: &mut Tx, user_id: i64) -> sqlx::Result<()> {
    let deleted = sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id).execute(&mut **tx).await?;
    bump_user_total(tx, -i64::try_from(deleted.rows_affected()).unwrap_or(0)).await
}

pub struct NewToken<'a> {
    pub user_id: i64,
    pub purpose: TokenPurpose,
    pub token_hash: &'a str,
    pub email: &'a str,
    pub expires_at: i64,
}

pub async fn insert_token(tx: &mut Tx, token: &NewToken<'_>, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO user_tokens (user_id, purpose, token_hash, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token.user_id)
    .bind(token.purpose.as_str())
    .bind(token.token_hash)
    .bind(token.email)
    .bind(now)
    .bind(token.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A token that is unused and unexpired, for this purpose.
pub async fn find_live_token(
    pool: &AnyPool,
    purpose: TokenPurpose,
    token_hash: &str,
    now: i64,
) -> sqlx::Result<Option<UserToken>> {
    sqlx::query_as(
        "SELECT id, user_id, email FROM user_tokens \
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// The address a live link was issued for.
pub async fn live_token_email(pool: &AnyPool, token_hash: &str, now: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT email FROM user_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await
}

/// Marks one token used; false when another request used it first.
pub async fn use_token(tx: &mut Tx, token_id: i64, now: i64) -> sqlx::Result<bool> {
    let result = sqlx::query("UPDATE user_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
        .bind(token_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Voids every outstanding token of this purpose (a newer link, or a password change).
pub async fn void_tokens(tx: &mut Tx, user_id: i64, purpose: TokenPurpose, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE user_tokens SET used_at = $3 WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn count_recent_tokens(pool: &AnyPool, user_id: i64, purpose: TokenPurpose, since: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM user_tokens WHERE user_id = $1 AND purpose = $2 AND created_at > $3")
        .bind(user_id)
        .bind(purpose.as_str())
        .bind(since)
        .fetch_one(pool)
        .await
}

/// Failures for a login key within the current window: (failures, window start).
pub async fn find_login_failures(pool: &AnyPool, key: &str) -> sqlx::Result<Option<(i64, i64)>> {
    sqlx::query_as("SELECT failures, window_started_at FROM login_attempts WHERE login_key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
}

/// Counts a failure, starting a new window when the old one is over.
pub async fn record_login_failure(pool: &AnyPool, key: &str, now: i64, window_secs: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO login_attempts (login_key, failures, window_started_at) VALUES ($1, 1, $2) \
         ON CONFLICT (login_key) DO UPDATE SET \
           failures = CASE WHEN login_attempts.window_started_at <= $3 THEN 1 ELSE login_attempts.failures + 1 END, \
           window_started_at = CASE WHEN login_attempts.window_started_at <= $3 THEN $2 \
                                    ELSE login_attempts.window_started_at END",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_secs)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn clear_login_failures(pool: &AnyPool, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_attempts WHERE login_key = $1").bind(key).execute(pool).await?;
    Ok(())
}

/// The daily sweep of expired tokens and stale counters; returns the rows removed.
pub async fn delete_expired_rows(pool: &AnyPool, now: i64, attempts_before: i64) -> sqlx::Result<u64> {
    let tokens = sqlx::query("DELETE FROM user_tokens WHERE expires_at <= $1").bind(now).execute(pool).await?;
    let attempts = sqlx::query("DELETE FROM login_attempts WHERE window_started_at <= $1")
        .bind(attempts_before)
        .execute(pool)
        .await?;
    Ok(tokens.rows_affected() + attempts.rows_affected())
}

/// Removes sign-ups never confirmed since `joined_before`; returns how many.
pub async fn delete_unconfirmed_users(tx: &mut Tx, joined_before: i64) -> sqlx::Result<u64> {
    let users =
        sqlx::query("DELETE FROM users WHERE email_confirmed_at IS NULL AND is_active = FALSE AND date_joined <= $1")
            .bind(joined_before)
            .execute(&mut **tx)
            .await?;
    bump_user_total(tx, -i64::try_from(users.rows_affected()).unwrap_or(0)).await?;
    Ok(users.rows_affected())
}

/// Every user's id and stored username, for a pass over all of them.
pub async fn all_usernames(pool: &AnyPool) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("SELECT id, username FROM users ORDER BY id").fetch_all(pool).await
}

pub async fn rename_user(tx: &mut Tx, user_id: i64, username: &str, username_key: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET username = $2, username_key = $3 WHERE id = $1")
        .bind(user_id)
        .bind(username)
        .bind(username_key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
