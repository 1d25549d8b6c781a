//! The account rules, shared by pages, the JSON API and the CLI. No HTTP types here: functions
//! take parsed input, open transactions, and enqueue emails in the same transaction as the
//! change that causes them; `errors.rs` says how their errors answer over HTTP.

mod auth;
mod breakglass;
mod migrations;
mod personal;
mod profile;
mod reset;
mod sessions;
mod signup;
mod sso;
mod staff;

use std::sync::Arc;
use std::time::Duration;

pub use auth::{LoginAttempt, authenticate};
pub use breakglass::{issue_break_glass_link, use_break_glass};
pub use migrations::normalize_stored_usernames;
pub use personal::{
    PersonalEmail, badge_address, confirm_personal_email, confirmed_emails, personal_email, remove_personal_email,
    request_personal_email,
};
pub use profile::{
    NamesInput, change_password, confirm_email_change, delete_account, export_account, profile_summaries,
    request_email_change, update_names,
};
pub use reset::{request_password_reset, reset_password};
pub use sessions::{end_my_sessions, security_activity, user_sessions};
pub use signup::{SignupInput, confirm_account, resend_confirmation, signup};
pub use sso::{SsoError, sso_login};
pub use staff::{
    AccountStats, StaffActor, USERS_PER_PAGE, UserEditInput, account_stats, cleanup, create_superuser, delete_user,
    edit_user, list_users, revoke_sessions, send_password_reset,
};

use super::emails::{self, AccountEmail};
use super::model::{EmailAddress, TokenPurpose, User};
use super::sections::UserSections;
use super::store::{self, NewToken};
use crate::kernel::AppState;
use crate::kernel::audit::{self, Event};
use crate::kernel::db::{Tx, UniqueField, unique_field_error};
use crate::kernel::security::password::{Password, Verdict};
use crate::kernel::security::ratelimit::Action;
use crate::kernel::security::token::{derive_token, hash_token, looks_like_token, random_token};
use crate::kernel::session_cache::Cached;
use crate::kernel::validation::FieldErrors;

/// Emailed links a user may ask for per hour (confirmation resends, password resets).
const LINKS_PER_HOUR: i64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account not confirmed")]
    NotConfirmed,
    #[error("invalid or expired link")]
    InvalidToken,
    #[error("too many attempts")]
    Throttled(Duration),
    #[error("not allowed")]
    Forbidden,
    #[error("no such user")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AccountsError {
    fn from(err: sqlx::Error) -> Self {
        AccountsError::Internal(err.into())
    }
}

pub const INVALID_CREDENTIALS: &str = "Invalid credentials.";
pub const NOT_CONFIRMED: &str = "Please confirm your email address first. We can send you a new link.";
pub const INVALID_TOKEN: &str = "This link is invalid or has expired.";

pub type Result<T> = std::result::Result<T, AccountsError>;

/// A write refused by one of `fields`' unique constraints becomes that field's error.
fn unique(err: sqlx::Error, fields: &[UniqueField]) -> AccountsError {
    match unique_field_error(err, fields) {
        Ok(errors) => AccountsError::Invalid(errors),
        Err(err) => err.into(),
    }
}

/// The username is taken (a case-insensitive match).
const USERNAME_KEY: &str = "users_username_key";
/// The email address is taken (a case-insensitive match).
const EMAIL_KEY: &str = "users_email_key";

fn invalid(field: &'static str, message: impl Into<String>) -> AccountsError {
    AccountsError::Invalid(FieldErrors::single(field, message))
}

fn check_rate(state: &AppState, action: Action, ip: std::net::IpAddr) -> Result<()> {
    state.limits.check(action, ip).map_err(AccountsError::Throttled)
}

/// Checks a new password against the policy, in the context of the account's own data.
fn check_new_password(state: &AppState, field: &'static str, password: &Password, context: &[&str]) -> Result<()> {
    state.policy.check(password.expose(), context).map_err(|message| invalid(field, message))
}

/// Re-authentication before a sensitive change: the current password must match.
async fn verify_current_password(
    state: &AppState,
    user: &User,
    password: &Password,
    field: &'static str,
) -> Result<()> {
    match state.passwords.verify(password, Some(&user.password_hash)).await? {
        Verdict::Mismatch => Err(invalid(field, "Your password was entered incorrectly.")),
        Verdict::Match | Verdict::MatchNeedsRehash => Ok(()),
    }
}

/// Creates a link token for `user` and enqueues the email that carries it, in `tx`.
/// The queue holds only the nonce; the worker derives the token with the secret key.
async fn issue_link(
    state: &AppState,
    tx: &mut Tx,
    user_id: i64,
    purpose: TokenPurpose,
    email: &str,
    ttl_secs: i64,
) -> Result<()> {
    let now = state.clock.now();
    let nonce = random_token();
    let token = derive_token(state.settings.secret_key.expose(), &nonce);
    let new = NewToken { user_id, purpose, token_hash: &hash_token(&token), email, expires_at: now + ttl_secs };
    store::insert_token(tx, &new, now).await?;
    let mail = match purpose {
        TokenPurpose::Confirm => AccountEmail::Confirm { user_id, nonce },
        TokenPurpose::Reset => AccountEmail::PasswordReset { user_id, nonce },
        TokenPurpose::EmailChange => AccountEmail::EmailChange { user_id, nonce, new_email: email.to_owned() },
        TokenPurpose::PersonalEmail => AccountEmail::PersonalEmail { user_id, nonce, email: email.to_owned() },
        TokenPurpose::BreakGlass => return Err(anyhow::anyhow!("break-glass links are printed, never mailed").into()),
    };
    emails::enqueue(tx, &mail, now).await?;
    Ok(())
}

/// Sends a link that confirms `email` as the user's new or personal address (voiding older links
/// of that kind). An address that already belongs to an account gets a notice instead, so the
/// answer never reveals it.
async fn link_to_new_address(
    state: &AppState,
    user: &User,
    email: &EmailAddress,
    purpose: TokenPurpose,
    action: &'static str,
    ip: std::net::IpAddr,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if store::email_taken(&mut tx, &email.key()).await? {
        drop(tx);
        return signup::notify_address_taken(state, email).await;
    }
    store::void_tokens(&mut tx, user.id, purpose, now).await?;
    let ttl = state.settings.confirmation_ttl_hours * 3600;
    issue_link(state, &mut tx, user.id, purpose, email.as_str(), ttl).await?;
    audit_self(&mut tx, state, (user.id, &user.username), ip, EventKind(action, vec![])).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the user may get another emailed link of this kind this hour.
async fn may_send_link(state: &AppState, user_id: i64, purpose: TokenPurpose) -> Result<bool> {
    let since = state.clock.now() - 3600;
    Ok(store::count_recent_tokens(&state.db.pool, user_id, purpose, since).await? < LINKS_PER_HOUR)
}

/// The token row behind a link, if the link is well-formed, live and of this purpose.
async fn find_token(state: &AppState, purpose: TokenPurpose, token: &str) -> Result<super::model::UserToken> {
    if !looks_like_token(token) {
        return Err(AccountsError::InvalidToken);
    }
    store::find_live_token(&state.db.pool, purpose, &hash_token(token), state.clock.now())
        .await?
        .ok_or(AccountsError::InvalidToken)
}

/// Whether a link still works, for the page that shows its confirm button.
pub async fn link_is_live(state: &AppState, token: &str) -> Result<bool> {
    if !looks_like_token(token) {
        return Ok(false);
    }
    Ok(store::live_token_email(&state.db.pool, &hash_token(token), state.clock.now()).await?.is_some())
}

/// Records an event about `user`, done by that user, in `tx`.
async fn audit_self(
    tx: &mut Tx,
    state: &AppState,
    user: (i64, &str),
    ip: std::net::IpAddr,
    event: EventKind,
) -> Result<()> {
    let (id, name) = user;
    let event =
        Event::new(audit::Actor::user(id, name, ip), event.0, "user", Some(id)).named(name).with_changes(event.1);
    audit::record(tx, &event, state.clock.now()).await?;
    Ok(())
}

/// Deletes `user` in `tx`, after every section has tidied its rows.
async fn delete_with_sections(tx: &mut Tx, sections: &UserSections, user: &User) -> Result<()> {
    for section in sections.iter() {
        section.before_delete(tx, user).await?;
    }
    store::delete_user(tx, user.id).await?;
    Ok(())
}

/// An action name and the fields it changed.
struct EventKind(&'static str, Vec<audit::Change>);

/// The user whose username or email is `login` (in any case), for other apps' staff tools.
pub async fn find_user_by_login(state: &AppState, login: &str) -> Result<Option<User>> {
    Ok(store::find_user_by_login(&state.db.pool, &login.trim().to_lowercase()).await?)
}

pub async fn find_user(state: &AppState, id: i64) -> Result<Option<User>> {
    Ok(store::find_user(&state.db.pool, id).await?)
}

/// The live session named `id_hash` (its stored data) and its signed-in user: from memory when
/// the session was read within the last minute and nothing about it or its user has changed
/// since (`kernel/session_cache.rs`), else from the database.
pub async fn find_session_user(state: &AppState, id_hash: &str, now: i64) -> Result<Option<(Arc<str>, User)>> {
    if let Some(hit) = state.sessions.get(id_hash, now)
        && let Some(user) = hit.user.downcast_ref::<User>()
    {
        return Ok(Some((hit.data, user.clone())));
    }
    let ticket = state.sessions.ticket();
    let Some(found) = store::find_session_user(&state.db.pool, id_hash, now).await? else {
        return Ok(None);
    };
    let data: Arc<str> = found.data.into();
    if let Some(ticket) = ticket {
        let cached = Cached {
            data: data.clone(),
            expires_at: found.expires_at,
            user_id: found.user.id,
            user: Arc::new(found.user.clone()),
        };
        state.sessions.put(ticket, id_hash, cached);
    }
    Ok(Some((data, found.user)))
}
