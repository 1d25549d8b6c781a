//! Sign-up, email confirmation and "resend the link". A taken email address gets the same
//! answer as a new one (its owner is told by email instead), so sign-up reveals no accounts.

use std::net::IpAddr;

use super::{
    AccountsError, EventKind, Result, audit_self, check_new_password, check_rate, find_token, issue_link, may_send_link,
};
use crate::apps::accounts::emails::{self, AccountEmail};
use crate::apps::accounts::model::{EmailAddress, Names, NewUser, TokenPurpose, Username, parse_name};
use crate::apps::accounts::store;
use crate::kernel::AppState;
use crate::kernel::db::{UniqueField, violates};
use crate::kernel::security::password::Password;
use crate::kernel::security::ratelimit::Action;
use crate::kernel::validation::FieldErrors;

/// Sign-up input as it arrived, from a form or JSON; `None` is a missing field.
#[derive(Debug, Default)]
pub struct SignupInput {
    pub username: Option<String>,
    pub email: Option<String>,
    pub password: Option<Password>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub nickname: Option<String>,
}

struct ValidSignup {
    username: Username,
    email: EmailAddress,
    password: Password,
    names: Names,
}

const REQUIRED: &str = "This field is required.";

fn validate(state: &AppState, input: SignupInput) -> Result<ValidSignup> {
    let mut errors = FieldErrors::new();
    let username = match Username::parse(input.username.as_deref().unwrap_or("")) {
        Ok(u) => Some(u),
        Err(e) => {
            errors.add("username", e);
            None
        }
    };
    let email = match EmailAddress::parse(input.email.as_deref().unwrap_or("")) {
        Ok(e) => Some(e),
        Err(e) => {
            errors.add("email", e);
            None
        }
    };
    let mut names = Names::default();
    for (field, raw, slot) in [
        ("first_name", &input.first_name, &mut names.first_name),
        ("last_name", &input.last_name, &mut names.last_name),
        ("nickname", &input.nickname, &mut names.nickname),
    ] {
        match parse_name(raw.as_deref().unwrap_or("")) {
            Ok(value) => *slot = value,
            Err(e) => errors.add(field, e),
        }
    }
    let password = input.password.filter(|p| !p.expose().is_empty());
    match &password {
        None => errors.add("password", REQUIRED),
        Some(password) => {
            let context = [
                username.as_ref().map_or("", Username::as_str),
                email.as_ref().map_or("", EmailAddress::as_str),
                &names.first_name,
                &names.last_name,
            ];
            if let Err(AccountsError::Invalid(e)) = check_new_password(state, "password", password, &context) {
                errors.add("password", e.summary());
            }
        }
    }
    match (username, email, password, errors.is_empty()) {
        (Some(username), Some(email), Some(password), true) => Ok(ValidSignup { username, email, password, names }),
        _ => Err(AccountsError::Invalid(errors)),
    }
}

const USERNAME_TAKEN: &str = "A user with that username already exists.";
const USERNAME_UNIQUE: UniqueField =
    UniqueField { constraint: super::USERNAME_KEY, field: "username", message: USERNAME_TAKEN };

/// Creates an inactive account and enqueues its confirmation email, all in one transaction.
pub async fn signup(state: &AppState, input: SignupInput, ip: IpAddr) -> Result<()> {
    check_rate(state, Action::Signup, ip)?;
    let valid = validate(state, input)?;
    if store::username_taken(&state.db.pool, &valid.username.key()).await? {
        return Err(super::invalid("username", USERNAME_TAKEN));
    }
    // Hash before looking at the email, so a taken address costs the same time as a new one.
    let password_hash = state.passwords.hash(&valid.password).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if store::email_taken(&mut tx, &valid.email.key()).await? {
        drop(tx);
        return notify_address_taken(state, &valid.email).await;
    }
    let new_user = NewUser {
        username: valid.username,
        email: valid.email,
        password_hash,
        names: valid.names,
        is_active: false,
        is_staff: false,
        is_superuser: false,
    };
    let user_id = match store::insert_user(&mut tx, &new_user, now).await {
        Ok(id) => id,
        // Another sign-up took the address a moment ago: answer as for any taken address.
        Err(err) if violates(&err, super::EMAIL_KEY) => {
            drop(tx);
            return notify_address_taken(state, &new_user.email).await;
        }
        Err(err) => return Err(super::unique(err, &[USERNAME_UNIQUE])),
    };
    let ttl = state.settings.confirmation_ttl_hours * 3600;
    issue_link(state, &mut tx, user_id, TokenPurpose::Confirm, new_user.email.as_str(), ttl).await?;
    audit_self(&mut tx, state, (user_id, new_user.username.as_str()), ip, EventKind("user.signup", vec![])).await?;
    tx.commit().await?;
    state.metrics.signups.inc();
    tracing::info!(event = "signup", user_id, "account created, waiting for confirmation");
    Ok(())
}

/// Tells the owner of a taken address that someone tried to sign up with it (at most a few
/// times an hour, so the form cannot be used to flood their inbox).
pub(super) async fn notify_address_taken(state: &AppState, email: &EmailAddress) -> Result<()> {
    if !state.limits.allow_notice(&email.key()) {
        return Ok(());
    }
    let mut tx = state.db.begin_write().await?;
    let mail = AccountEmail::SignupAttempt { to: email.as_str().to_owned() };
    emails::enqueue(&mut tx, &mail, state.clock.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// Activates the account behind a confirmation link (POST only: mail scanners prefetch GETs).
pub async fn confirm_account(state: &AppState, token: &str, ip: IpAddr) -> Result<()> {
    check_rate(state, Action::UseToken, ip)?;
    let found = find_token(state, TokenPurpose::Confirm, token).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let user = store::find_user(&state.db.pool, found.user_id).await?.ok_or(AccountsError::InvalidToken)?;
    // The link is bound to the address it was sent to.
    if user.email != found.email || !store::use_token(&mut tx, found.id, now).await? {
        return Err(AccountsError::InvalidToken);
    }
    store::activate_user(&mut tx, user.id, now).await?;
    store::void_tokens(&mut tx, user.id, TokenPurpose::Confirm, now).await?;
    audit_self(&mut tx, state, (user.id, &user.username), ip, EventKind("user.confirmed", vec![])).await?;
    tx.commit().await?;
    tracing::info!(event = "account_confirmed", user_id = user.id, "account confirmed");
    Ok(())
}

/// Sends a fresh confirmation link when the address belongs to an unconfirmed account.
/// The answer is the same either way.
pub async fn resend_confirmation(state: &AppState, email: &str, ip: IpAddr) -> Result<()> {
    check_rate(state, Action::SendMail, ip)?;
    let email = EmailAddress::parse(email).map_err(|e| super::invalid("email", e))?;
    let Some(user) = store::find_user_by_email(&state.db.pool, &email.key()).await? else {
        return Ok(());
    };
    if user.is_confirmed() || !may_send_link(state, user.id, TokenPurpose::Confirm).await? {
        return Ok(());
    }
    let mut tx = state.db.begin_write().await?;
    let ttl = state.settings.confirmation_ttl_hours * 3600;
    issue_link(state, &mut tx, user.id, TokenPurpose::Confirm, &user.email, ttl).await?;
    tx.commit().await?;
    Ok(())
}
