//! The account rules of single sign-on. A person is found by (issuer, subject), never by email.
//! A first login links to an existing account only when the provider vouches for the email, its
//! domain is allowed and the local account's own email is confirmed; otherwise it creates an
//! account (or refuses, by setting). Staff status is taken from the claims at every login.

use std::net::IpAddr;

use rand::RngCore;

use super::{EMAIL_KEY, USERNAME_KEY};
use crate::apps::accounts::model::{NewUser, User, Username};
use crate::apps::accounts::sso::{SsoConfig, SsoProfile};
use crate::apps::accounts::store::{self, IDENTITY_KEY, NewIdentity};
use crate::kernel::AppState;
use crate::kernel::audit::{self, Actor, Change, Event};
use crate::kernel::config::NewSsoUsers;
use crate::kernel::db::{Tx, unique_violation};
use crate::kernel::security::token::hex;

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("the provider sent no usable email address")]
    NoEmail,
    #[error("this email domain may not sign in")]
    DomainNotAllowed,
    /// An account has this address but may not be linked (unverified claim or unconfirmed account).
    #[error("an account with this email exists and cannot be linked")]
    EmailTaken,
    #[error("new accounts are not created by single sign-on")]
    NewUsersRefused,
    #[error("this account is disabled")]
    Inactive,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for SsoError {
    fn from(err: sqlx::Error) -> Self {
        SsoError::Internal(err.into())
    }
}

/// Signs in the person the provider vouched for; returns the local account.
pub async fn sso_login(
    state: &AppState,
    config: &SsoConfig,
    profile: &SsoProfile,
    ip: IpAddr,
) -> Result<User, SsoError> {
    match login_once(state, config, profile, ip).await {
        // Two first logins of the same person raced: the other one created the link.
        Err(SsoError::Internal(err)) if is_identity_race(&err) => login_once(state, config, profile, ip).await,
        other => other,
    }
}

fn is_identity_race(err: &anyhow::Error) -> bool {
    err.downcast_ref::<sqlx::Error>().and_then(unique_violation).as_deref() == Some(IDENTITY_KEY)
}

async fn login_once(state: &AppState, config: &SsoConfig, profile: &SsoProfile, ip: IpAddr) -> Result<User, SsoError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let identity = NewIdentity {
        user_id: 0,
        issuer: &profile.issuer,
        subject: &profile.subject,
        email: profile.email.as_ref().map_or("", |e| e.as_str()),
        email_verified: profile.email_verified,
    };
    let (user, action) = match store::find_identity_user(&mut tx, &profile.issuer, &profile.subject).await? {
        Some(user_id) => {
            store::touch_identity(&mut tx, &identity, now).await?;
            (store::find_user(&state.db.pool, user_id).await?.ok_or(SsoError::Inactive)?, "user.login")
        }
        None => first_login(state, &mut tx, config, profile, identity).await?,
    };
    if !user.is_active {
        return Err(SsoError::Inactive);
    }
    // Superusers are made on the command line and stay staff; everyone else is what the claims say.
    let is_staff = user.is_superuser || profile.is_staff;
    let mut changes = Vec::new();
    if is_staff != user.is_staff {
        store::update_staff(&mut tx, user.id, is_staff).await?;
        changes.push(Change::new("is_staff", user.is_staff, is_staff));
    }
    store::record_login(&mut tx, user.id, now, None).await?;
    let event = Event::new(Actor::user(user.id, &user.username, ip), action, "user", Some(user.id))
        .named(&user.username)
        .with_changes(changes)
        .because(&format!("single sign-on via {}", profile.issuer));
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::info!(event = "login", method = "sso", user_id = user.id, "logged in");
    Ok(User { is_staff, last_login: Some(now), ..user })
}

/// No identity yet: link to the account with this address when that is safe, else create one.
async fn first_login(
    state: &AppState,
    tx: &mut Tx,
    config: &SsoConfig,
    profile: &SsoProfile,
    mut identity: NewIdentity<'_>,
) -> Result<(User, &'static str), SsoError> {
    let email = profile.email.as_ref().ok_or(SsoError::NoEmail)?;
    let domain = email.as_str().rsplit_once('@').map_or("", |(_, d)| d);
    if !config.domain_allowed(domain) {
        tracing::warn!(event = "sso_refused", reason = "domain", "single sign-on from a domain not allowed");
        return Err(SsoError::DomainNotAllowed);
    }
    let now = state.clock.now();
    if let Some(existing) = store::find_user_by_email(&state.db.pool, &email.key()).await? {
        if !(profile.email_verified && existing.is_confirmed()) {
            tracing::warn!(event = "sso_refused", reason = "unlinkable_email", "single sign-on claims a taken email");
            return Err(SsoError::EmailTaken);
        }
        identity.user_id = existing.id;
        store::insert_identity(tx, &identity, now).await?;
        return Ok((existing, "user.sso_linked"));
    }
    if config.new_users == NewSsoUsers::Refuse {
        return Err(SsoError::NewUsersRefused);
    }
    let user = NewUser {
        username: free_username(state, &profile.username_hint).await?,
        email: email.clone(),
        password_hash: unusable_password(),
        names: profile.names.clone(),
        is_active: true,
        is_staff: false,
        is_superuser: false,
    };
    let id = store::insert_user(tx, &user, now).await.map_err(|err| match unique_violation(&err).as_deref() {
        Some(EMAIL_KEY) => SsoError::EmailTaken,
        Some(USERNAME_KEY) => SsoError::Internal(anyhow::anyhow!("username taken meanwhile")),
        _ => err.into(),
    })?;
    if !profile.email_verified {
        store::unconfirm_email(tx, id).await?;
    }
    identity.user_id = id;
    store::insert_identity(tx, &identity, now).await?;
    let user = store::find_user_in(tx, id).await?.ok_or_else(|| anyhow::anyhow!("new user vanished"))?;
    Ok((user, "user.sso_signup"))
}

/// A password that matches nothing: an account made by single sign-on has no password
/// (`User::has_password` knows it by the leading `!`).
fn unusable_password() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("!sso-{}", hex(&bytes))
}

/// A username from the provider's hint, made valid and free (`alice`, `alice-2`, …).
async fn free_username(state: &AppState, hint: &str) -> Result<Username, SsoError> {
    let cleaned: String = hint.chars().filter(|c| c.is_alphanumeric() || "@.+-_".contains(*c)).take(140).collect();
    let base = if cleaned.is_empty() { "user".to_owned() } else { cleaned };
    for n in 1..100 {
        let candidate = if n == 1 { base.clone() } else { format!("{base}-{n}") };
        let name = Username::parse(&candidate).map_err(|e| anyhow::anyhow!("username {e}"))?;
        if !store::username_taken(&state.db.pool, &name.key()).await? {
            return Ok(name);
        }
    }
    let mut bytes = [0u8; 4];
    rand::rng().fill_bytes(&mut bytes);
    Ok(Username::parse(&format!("{base}-{}", hex(&bytes))).map_err(|e| anyhow::anyhow!("username {e}"))?)
}
