//! A personal email address next to the account's own: often the account's address is a work
//! mailbox that ends with the job. Once confirmed by a link sent to it, password resets asked for
//! with it go there, and badges are issued to it (`confirmed_emails`, `badge_address`).
//! Adding one needs the current password (an account made by single sign-on has none: its
//! session, from the provider, is the proof), and the account's address is told.

use std::net::IpAddr;

use super::{
    AccountsError, EventKind, Result, audit_self, check_rate, find_token, invalid, may_send_link, unique,
    verify_current_password,
};
use crate::apps::accounts::emails::{self, AccountEmail};
use crate::apps::accounts::model::{EmailAddress, TokenPurpose, User};
use crate::apps::accounts::store;
use crate::kernel::AppState;
use crate::kernel::audit;
use crate::kernel::db::UniqueField;
use crate::kernel::security::password::Password;
use crate::kernel::security::ratelimit::Action;

/// The personal address's unique constraint (a case-insensitive match).
const PERSONAL_EMAIL_KEY: &str = "personal_emails_email_key";
const TAKEN: &str = "This address is already in use by another account.";

/// The user's personal address: confirmed, and the one waiting for its link, if any.
#[derive(Debug, Default)]
pub struct PersonalEmail {
    pub confirmed: Option<String>,
    pub pending: Option<String>,
}

pub async fn personal_email(state: &AppState, user: &User) -> Result<PersonalEmail> {
    let pool = &state.db.pool;
    Ok(PersonalEmail {
        confirmed: store::personal_email(pool, user.id).await?,
        pending: store::pending_personal_email(pool, user.id, state.clock.now()).await?,
    })
}

/// Every address the user has proven to own, lowercased: the account's once confirmed, and the
/// personal one. Badges imported from elsewhere must be addressed to one of them.
pub async fn confirmed_emails(state: &AppState, user: &User) -> Result<Vec<String>> {
    let mut emails: Vec<String> = user.is_confirmed().then(|| user.email.to_lowercase()).into_iter().collect();
    emails.extend(store::personal_email(&state.db.pool, user.id).await?.map(|e| e.to_lowercase()));
    Ok(emails)
}

/// The address badges awarded to the user are issued to: the personal one when confirmed, so a
/// badge still verifies for its holder after the work mailbox is gone.
pub async fn badge_address(state: &AppState, user_id: i64) -> Result<Option<String>> {
    Ok(store::personal_email(&state.db.pool, user_id).await?)
}

/// Sends a confirmation link to the address. An address that belongs to another account gets a
/// notice instead, so the answer never reveals it.
pub async fn request_personal_email(
    state: &AppState,
    user: &User,
    address: &str,
    password: &Password,
    ip: IpAddr,
) -> Result<()> {
    if user.has_password() {
        verify_current_password(state, user, password, "password").await?;
    }
    let email = EmailAddress::parse(address).map_err(|e| invalid("email", e))?;
    if email.key() == user.email.to_lowercase() {
        return Err(invalid("email", "This is the address of your account; give another one."));
    }
    let current = store::personal_email(&state.db.pool, user.id).await?;
    if current.is_some_and(|c| c.to_lowercase() == email.key()) {
        return Err(invalid("email", "This is already your personal address."));
    }
    if !may_send_link(state, user.id, TokenPurpose::PersonalEmail).await? {
        return Err(invalid("email", "Too many links this hour; try again later."));
    }
    super::link_to_new_address(state, user, &email, TokenPurpose::PersonalEmail, "user.personal_email_requested", ip)
        .await
}

/// Makes the link's address the user's personal one, and tells the account's address.
pub async fn confirm_personal_email(state: &AppState, token: &str, ip: IpAddr) -> Result<()> {
    check_rate(state, Action::UseToken, ip)?;
    let found = find_token(state, TokenPurpose::PersonalEmail, token).await?;
    let user = store::find_user(&state.db.pool, found.user_id).await?.ok_or(AccountsError::InvalidToken)?;
    let email = EmailAddress::parse(&found.email).map_err(|_| AccountsError::InvalidToken)?;
    let before = store::personal_email(&state.db.pool, user.id).await?.unwrap_or_default();
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if !store::use_token(&mut tx, found.id, now).await? {
        return Err(AccountsError::InvalidToken);
    }
    // Taken since the link was sent (the constraint catches a race between two confirmations).
    if store::email_taken(&mut tx, &email.key()).await? {
        return Err(invalid("email", TAKEN));
    }
    let taken = UniqueField { constraint: PERSONAL_EMAIL_KEY, field: "email", message: TAKEN };
    store::set_personal_email(&mut tx, user.id, email.as_str(), &email.key(), now)
        .await
        .map_err(|err| unique(err, &[taken]))?;
    store::void_tokens(&mut tx, user.id, TokenPurpose::PersonalEmail, now).await?;
    let notice = AccountEmail::PersonalEmailAdded {
        to: user.email.clone(),
        username: user.username.clone(),
        personal: email.as_str().to_owned(),
    };
    emails::enqueue(&mut tx, &notice, now).await?;
    let change = audit::Change::new("personal_email", &before, email.as_str());
    audit_self(&mut tx, state, (user.id, &user.username), ip, EventKind("user.personal_email_confirmed", vec![change]))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes the personal address and voids any link still waiting.
pub async fn remove_personal_email(state: &AppState, user: &User, ip: IpAddr) -> Result<()> {
    let now = state.clock.now();
    let before = store::personal_email(&state.db.pool, user.id).await?.unwrap_or_default();
    let mut tx = state.db.begin_write().await?;
    let removed = store::delete_personal_email(&mut tx, user.id).await?;
    store::void_tokens(&mut tx, user.id, TokenPurpose::PersonalEmail, now).await?;
    if removed {
        let change = audit::Change::new("personal_email", &before, "");
        audit_self(
            &mut tx,
            state,
            (user.id, &user.username),
            ip,
            EventKind("user.personal_email_removed", vec![change]),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
