//! Break-glass: with single sign-on only (or the provider down), a staff member still gets in
//! through a one-time link that `shoestring break-glass` prints on the server. The link lives 15
//! minutes, works once, and only for an active staff account; issuing and using it are audited.

use std::net::IpAddr;

use super::{AccountsError, Result, find_token};
use crate::apps::accounts::model::{TokenPurpose, User};
use crate::apps::accounts::store::{self, NewToken};
use crate::kernel::AppState;
use crate::kernel::audit::{self, Actor, Event};
use crate::kernel::security::token::{hash_token, random_token};

const BREAK_GLASS_TTL_SECS: i64 = 15 * 60;

/// The path `/accounts/break-glass/<token>/` for the staff member `login` (username or email).
pub async fn issue_break_glass_link(state: &AppState, login: &str) -> Result<String> {
    let user = store::find_user_by_login(&state.db.pool, &login.trim().to_lowercase())
        .await?
        .filter(|u| u.is_active && u.is_staff)
        .ok_or(AccountsError::NotFound)?;
    let now = state.clock.now();
    let token = random_token();
    let mut tx = state.db.begin_write().await?;
    let new = NewToken {
        user_id: user.id,
        purpose: TokenPurpose::BreakGlass,
        token_hash: &hash_token(&token),
        email: &user.email,
        expires_at: now + BREAK_GLASS_TTL_SECS,
    };
    store::insert_token(&mut tx, &new, now).await?;
    let event = Event::new(Actor::system(), "user.break_glass_issued", "user", Some(user.id)).named(&user.username);
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(format!("/accounts/break-glass/{token}/"))
}

/// Uses the link once; returns the staff member to sign in.
pub async fn use_break_glass(state: &AppState, token: &str, ip: IpAddr) -> Result<User> {
    let row = find_token(state, TokenPurpose::BreakGlass, token).await?;
    let user = store::find_user(&state.db.pool, row.user_id)
        .await?
        .filter(|u| u.is_active && u.is_staff)
        .ok_or(AccountsError::InvalidToken)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if !store::use_token(&mut tx, row.id, now).await? {
        return Err(AccountsError::InvalidToken);
    }
    store::record_login(&mut tx, user.id, now, None).await?;
    let event = Event::new(Actor::user(user.id, &user.username, ip), "user.login", "user", Some(user.id))
        .named(&user.username)
        .because("break-glass link");
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    tracing::warn!(event = "login", method = "break_glass", user_id = user.id, "logged in with a break-glass link");
    Ok(user)
}
