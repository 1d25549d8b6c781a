//! Staff-only reads, the first superuser, and the daily cleanup.

use super::{AccountsError, Result, check_new_password, invalid};
use crate::apps::accounts::model::{EmailAddress, Names, NewUser, Username};
use crate::apps::accounts::store::{self, UserPage};
use crate::kernel::AppState;
use crate::kernel::db::unique_violation;
use crate::kernel::http::session::delete_expired_sessions;
use crate::kernel::security::password::Password;

pub const USERS_PER_PAGE: i64 = 25;

/// How many pages of users there are (at least one, even when empty).
pub fn staff_page_count(total: i64) -> i64 {
    ((total + USERS_PER_PAGE - 1) / USERS_PER_PAGE).max(1)
}

/// One page (1-based) of users matching `search`.
pub async fn list_users(state: &AppState, search: &str, page: i64) -> Result<UserPage> {
    let search = search.trim();
    let search: String = search.chars().take(100).collect();
    let offset = (page.clamp(1, 100_000) - 1) * USERS_PER_PAGE;
    Ok(store::list_users(&state.db.pool, &search, USERS_PER_PAGE, offset).await?)
}

/// Makes an active staff superuser, as `createsuperuser` does. The password policy applies.
pub async fn create_superuser(state: &AppState, username: &str, email: &str, password: &Password) -> Result<i64> {
    let username = Username::parse(username).map_err(|e| invalid("username", e))?;
    let email = EmailAddress::parse(email).map_err(|e| invalid("email", e))?;
    check_new_password(state, "password", password, &[username.as_str(), email.as_str()])?;
    let password_hash = state.passwords.hash(password).await?;
    let user = NewUser {
        username,
        email,
        password_hash,
        names: Names::default(),
        is_active: true,
        is_staff: true,
        is_superuser: true,
    };
    let mut tx = state.db.begin_write().await?;
    let id = store::insert_user(&mut tx, &user, state.clock.now()).await.map_err(|err| {
        match unique_violation(&err).as_deref() {
            Some("users_username_key") => invalid("username", "A user with that username already exists."),
            Some("users_email_key") => invalid("email", "A user with that email address already exists."),
            _ => AccountsError::Internal(err.into()),
        }
    })?;
    tx.commit().await?;
    Ok(id)
}

/// Removes expired tokens and sessions, stale login counters, and sign-ups never confirmed
/// within the confirmation window.
pub async fn cleanup(state: &AppState) -> Result<u64> {
    let now = state.clock.now();
    let unconfirmed_before = now - state.settings.confirmation_ttl_hours * 3600;
    let removed = store::delete_stale_rows(&state.db.pool, now, unconfirmed_before, now - 3600).await?
        + delete_expired_sessions(&state.db, now).await?;
    state.limits.sweep();
    tracing::info!(event = "cleanup", removed, "removed expired rows");
    Ok(removed)
}
