//! Forgotten passwords. The request answers the same whether or not the address exists; the
//! link is single-use, expires (1 hour by default), dies with any password change or newer
//! link, and using it ends every session of the user without logging anyone in. Asked for with
//! a confirmed personal address, the link goes to that address.

use std::net::IpAddr;

use super::{
    AccountsError, EventKind, Result, audit_self, check_new_password, check_rate, find_token, issue_link, may_send_link,
};
use crate::apps::accounts::emails::{self, AccountEmail};
use crate::apps::accounts::model::{EmailAddress, TokenPurpose};
use crate::apps::accounts::store;
use crate::kernel::AppState;
use crate::kernel::security::password::Password;
use crate::kernel::security::ratelimit::Action;

/// Emails a reset link if the address belongs to an active account; silent otherwise.
pub async fn request_password_reset(state: &AppState, email: &str, ip: IpAddr) -> Result<()> {
    check_rate(state, Action::SendMail, ip)?;
    let Ok(email) = EmailAddress::parse(email) else {
        return Ok(());
    };
    let pool = &state.db.pool;
    let user = match store::find_user_by_email(pool, &email.key()).await? {
        Some(user) => Some((user.email.clone(), user)),
        // An account made by single sign-on added its personal address without a password (its
        // session was the proof); a reset there would turn a stolen session into a password.
        None => match store::find_user_by_personal_email(pool, &email.key()).await? {
            Some(user) if user.has_password() => {
                store::personal_email(pool, user.id).await?.map(|personal| (personal, user))
            }
            _ => None,
        },
    };
    let Some((send_to, user)) = user else {
        return Ok(());
    };
    if !user.is_active || !may_send_link(state, user.id, TokenPurpose::Reset).await? {
        return Ok(());
    }
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    store::void_tokens(&mut tx, user.id, TokenPurpose::Reset, now).await?;
    let ttl = state.settings.password_reset_ttl_minutes * 60;
    issue_link(state, &mut tx, user.id, TokenPurpose::Reset, &send_to, ttl).await?;
    let event = EventKind("user.password_reset_requested", vec![]);
    audit_self(&mut tx, state, (user.id, &user.username), ip, event).await?;
    tx.commit().await?;
    tracing::info!(event = "password_reset_requested", user_id = user.id, "reset link queued");
    Ok(())
}

/// Sets a new password from a reset link.
pub async fn reset_password(state: &AppState, token: &str, password: &Password, ip: IpAddr) -> Result<()> {
    check_rate(state, Action::UseToken, ip)?;
    let found = find_token(state, TokenPurpose::Reset, token).await?;
    let user = store::find_user(&state.db.pool, found.user_id).await?.ok_or(AccountsError::InvalidToken)?;
    check_new_password(state, "password", password, &[&user.username, &user.email, &user.first_name, &user.last_name])?;
    let hash = state.passwords.hash(password).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if !store::use_token(&mut tx, found.id, now).await? {
        return Err(AccountsError::InvalidToken);
    }
    store::update_password_hash(&mut tx, user.id, &hash).await?;
    store::void_tokens(&mut tx, user.id, TokenPurpose::Reset, now).await?;
    let mail = AccountEmail::PasswordChanged { to: user.email.clone(), username: user.username.clone() };
    emails::enqueue(&mut tx, &mail, now).await?;
    audit_self(&mut tx, state, (user.id, &user.username), ip, EventKind("user.password_reset", vec![])).await?;
    tx.commit().await?;
    store::delete_user_sessions(&state.db, user.id, None).await?;
    tracing::info!(event = "password_reset", user_id = user.id, "password reset; sessions ended");
    Ok(())
}
