//! What a signed-in user does to their own account: names, email change (confirmed by the new
//! address, announced to the old one), password change (ends the other sessions), deletion
//! (with a goodbye email) and the data export. Sensitive changes need the current password.

use std::net::IpAddr;

use super::{
    AccountsError, EMAIL_KEY, EventKind, Result, audit_self, check_new_password, check_rate, find_token, invalid,
    unique, verify_current_password,
};
use crate::apps::accounts::emails::{self, AccountEmail};
use crate::apps::accounts::model::{AccountExport, EmailAddress, Names, TokenPurpose, User, parse_name};
use crate::apps::accounts::sections::{Summary, UserSections};
use crate::apps::accounts::store;
use crate::kernel::AppState;
use crate::kernel::audit;
use crate::kernel::db::UniqueField;
use crate::kernel::security::password::Password;
use crate::kernel::security::ratelimit::Action;
use crate::kernel::validation::FieldErrors;

#[derive(Debug, Default)]
pub struct NamesInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub nickname: Option<String>,
}

/// Updates the fields given; a missing field keeps its value.
pub async fn update_names(state: &AppState, user: &User, input: NamesInput, ip: IpAddr) -> Result<Names> {
    let mut errors = FieldErrors::new();
    let mut names = Names {
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        nickname: user.nickname.clone(),
    };
    for (field, raw, slot) in [
        ("first_name", input.first_name, &mut names.first_name),
        ("last_name", input.last_name, &mut names.last_name),
        ("nickname", input.nickname, &mut names.nickname),
    ] {
        match raw.as_deref().map(parse_name) {
            Some(Ok(value)) => *slot = value,
            Some(Err(e)) => errors.add(field, e),
            None => {}
        }
    }
    if !errors.is_empty() {
        return Err(AccountsError::Invalid(errors));
    }
    let changes = audit::diff(&[
        ("first_name", user.first_name.clone(), names.first_name.clone()),
        ("last_name", user.last_name.clone(), names.last_name.clone()),
        ("nickname", user.nickname.clone(), names.nickname.clone()),
    ]);
    if changes.is_empty() {
        return Ok(names);
    }
    let mut tx = state.db.begin_write().await?;
    store::update_names(&mut tx, user.id, &names).await?;
    audit_self(&mut tx, state, (user.id, &user.username), ip, EventKind("user.profile_updated", changes)).await?;
    tx.commit().await?;
    Ok(names)
}

/// Sends a confirmation link to the new address. A taken address gets a notice instead, so
/// the answer never reveals another account.
pub async fn request_email_change(
    state: &AppState,
    user: &User,
    new_email: &str,
    password: &Password,
    ip: IpAddr,
) -> Result<()> {
    verify_current_password(state, user, password, "password").await?;
    let email = EmailAddress::parse(new_email).map_err(|e| invalid("email", e))?;
    if email.key() == user.email.to_lowercase() {
        return Err(invalid("email", "This is already your email address."));
    }
    super::link_to_new_address(state, user, &email, TokenPurpose::EmailChange, "user.email_change_requested", ip).await
}

/// Switches to the new address from its emailed link and tells the old address.
pub async fn confirm_email_change(state: &AppState, token: &str, ip: IpAddr) -> Result<()> {
    check_rate(state, Action::UseToken, ip)?;
    let found = find_token(state, TokenPurpose::EmailChange, token).await?;
    let user = store::find_user(&state.db.pool, found.user_id).await?.ok_or(AccountsError::InvalidToken)?;
    let email = EmailAddress::parse(&found.email).map_err(|_| AccountsError::InvalidToken)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if !store::use_token(&mut tx, found.id, now).await? {
        return Err(AccountsError::InvalidToken);
    }
    let taken = UniqueField {
        constraint: EMAIL_KEY,
        field: "email",
        message: "This address is already in use by another account.",
    };
    store::update_email(&mut tx, user.id, email.as_str(), &email.key()).await.map_err(|err| unique(err, &[taken]))?;
    store::void_tokens(&mut tx, user.id, TokenPurpose::EmailChange, now).await?;
    // A confirmation link sent to the old address must not confirm anything any more.
    store::void_tokens(&mut tx, user.id, TokenPurpose::Confirm, now).await?;
    let notice = AccountEmail::EmailChanged {
        to: user.email.clone(),
        username: user.username.clone(),
        new_email: email.as_str().to_owned(),
    };
    emails::enqueue(&mut tx, &notice, now).await?;
    let event = EventKind("user.email_changed", vec![audit::Change::new("email", &user.email, email.as_str())]);
    audit_self(&mut tx, state, (user.id, &user.username), ip, event).await?;
    tx.commit().await?;
    tracing::info!(event = "email_changed", user_id = user.id, "email address changed");
    Ok(())
}

/// Changes the password; every session of the user but `keep` (the caller's, by `id_hash`)
/// ends. The caller then moves its own session to a new id.
pub async fn change_password(
    state: &AppState,
    user: &User,
    current: &Password,
    new: &Password,
    keep: Option<&str>,
    ip: IpAddr,
) -> Result<String> {
    verify_current_password(state, user, current, "current_password").await?;
    check_new_password(state, "new_password", new, &[&user.username, &user.email, &user.first_name, &user.last_name])?;
    let hash = state.passwords.hash(new).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    store::update_password_hash(&mut tx, user.id, &hash).await?;
    store::void_tokens(&mut tx, user.id, TokenPurpose::Reset, now).await?;
    let mail = AccountEmail::PasswordChanged { to: user.email.clone(), username: user.username.clone() };
    emails::enqueue(&mut tx, &mail, now).await?;
    audit_self(&mut tx, state, (user.id, &user.username), ip, EventKind("user.password_changed", vec![])).await?;
    tx.commit().await?;
    // Their password fingerprint no longer matches either way; deleting the rows takes them off
    // "where you're signed in" at once.
    store::delete_user_sessions(&state.db, user.id, keep).await?;
    tracing::info!(event = "password_changed", user_id = user.id, "password changed");
    Ok(hash)
}

/// Deletes the account, after the password is confirmed: sessions, tokens and likes go with it;
/// posts stay, without an author.
pub async fn delete_account(
    state: &AppState,
    sections: &UserSections,
    user: &User,
    password: &Password,
    ip: IpAddr,
) -> Result<()> {
    verify_current_password(state, user, password, "password").await?;
    let mut tx = state.db.begin_write().await?;
    let goodbye = AccountEmail::Goodbye { to: user.email.clone(), username: user.username.clone() };
    emails::enqueue(&mut tx, &goodbye, state.clock.now()).await?;
    super::delete_with_sections(&mut tx, sections, user).await?;
    audit_self(&mut tx, state, (user.id, &user.username), ip, EventKind("user.deleted", vec![])).await?;
    tx.commit().await?;
    tracing::info!(event = "account_deleted", user_id = user.id, "account deleted");
    Ok(())
}

/// Everything held about the user: the account, and each app's section.
pub async fn export_account(state: &AppState, sections: &UserSections, user: &User) -> Result<AccountExport> {
    let active_sessions = store::count_sessions(&state.db.pool, user.id, state.clock.now()).await?;
    let mut exported = std::collections::BTreeMap::new();
    for section in sections.iter() {
        exported.insert(section.key(), section.export(state, user).await?);
    }
    let identities = store::identities_of(&state.db.pool, user.id).await?;
    let identities = identities.into_iter().map(|(issuer, email, last_login_at)| {
        serde_json::json!({"issuer": issuer, "email": email, "last_login_at": last_login_at})
    });
    exported.insert("single_sign_on", serde_json::Value::Array(identities.collect()));
    Ok(AccountExport {
        username: user.username.clone(),
        email: user.email.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        nickname: user.nickname.clone(),
        is_active: user.is_active,
        is_staff: user.is_staff,
        email_confirmed_at: user.email_confirmed_at,
        personal_email: store::personal_email(&state.db.pool, user.id).await?,
        date_joined: user.date_joined,
        last_login: user.last_login,
        active_sessions,
        sections: exported,
    })
}

/// The other apps' sections of the profile page.
pub async fn profile_summaries(state: &AppState, sections: &UserSections, user: &User) -> Result<Vec<Summary>> {
    let mut summaries = Vec::new();
    for section in sections.iter() {
        summaries.push(section.summary(state, user).await?);
    }
    Ok(summaries)
}
