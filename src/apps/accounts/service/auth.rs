//! Logging in. Unknown users cost one argon2 run like known ones, and get the same answer and
//! the same per-account throttle (10 failures within a 15-minute window lock the account until
//! that window ends), so neither
//! the reply nor its timing tells whether an account exists.

use std::net::IpAddr;
use std::time::Duration;

use super::{AccountsError, EventKind, Result, audit_self, check_rate};
use crate::apps::accounts::model::{User, login_key};
use crate::apps::accounts::store;
use crate::kernel::AppState;
use crate::kernel::audit::{self, Event};
use crate::kernel::security::password::{Password, Verdict};
use crate::kernel::security::ratelimit::Action;

const MAX_FAILURES: i64 = 10;
const FAILURE_WINDOW_SECS: i64 = 15 * 60;

#[derive(Debug)]
pub struct LoginAttempt {
    /// Username or email address.
    pub login: String,
    pub password: Password,
}

/// Checks the credentials; on success records the login and returns the user. Every attempt
/// is counted by outcome in the metrics.
pub async fn authenticate(state: &AppState, attempt: LoginAttempt, ip: IpAddr) -> Result<User> {
    let outcome = check_credentials(state, attempt, ip).await;
    state.metrics.login(match &outcome {
        Ok(_) => "ok",
        Err(AccountsError::Throttled(_)) => "throttled",
        Err(_) => "failed",
    });
    outcome
}

async fn check_credentials(state: &AppState, attempt: LoginAttempt, ip: IpAddr) -> Result<User> {
    check_rate(state, Action::Login, ip)?;
    let login_key = login_key(&attempt.login);
    if login_key.is_empty() || login_key.chars().count() > 254 {
        return Err(AccountsError::InvalidCredentials);
    }
    let user = store::find_user_by_login(&state.db.pool, &login_key).await?;
    let throttle_key = match &user {
        Some(user) => format!("user:{}", user.id),
        None => format!("login:{login_key}"),
    };
    let now = state.clock.now();
    let mut failures_so_far = 0;
    if let Some((failures, started)) = store::find_login_failures(&state.db.pool, &throttle_key).await? {
        let window_ends = started + FAILURE_WINDOW_SECS;
        if failures >= MAX_FAILURES && window_ends > now {
            tracing::warn!(event = "login_throttled", "too many failed logins for one account");
            return Err(AccountsError::Throttled(Duration::from_secs((window_ends - now).unsigned_abs())));
        }
        failures_so_far = if window_ends > now { failures } else { 0 };
    }

    let verdict = state.passwords.verify(&attempt.password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
    let user = match (user, verdict) {
        (Some(user), Verdict::Match | Verdict::MatchNeedsRehash) => user,
        (user, _) => {
            store::record_login_failure(&state.db.pool, &throttle_key, now, FAILURE_WINDOW_SECS).await?;
            tracing::warn!(event = "login_failed", "invalid credentials");
            if failures_so_far + 1 == MAX_FAILURES {
                record_burst(state, user.as_ref(), &login_key, ip).await?;
            }
            return Err(AccountsError::InvalidCredentials);
        }
    };
    if !user.is_active {
        // Only someone who knows the password learns that the account waits for confirmation.
        return Err(if user.is_confirmed() { AccountsError::InvalidCredentials } else { AccountsError::NotConfirmed });
    }
    store::clear_login_failures(&state.db.pool, &throttle_key).await?;
    let new_hash = match verdict {
        Verdict::MatchNeedsRehash => Some(state.passwords.hash(&attempt.password).await?),
        _ => None,
    };
    let mut tx = state.db.begin_write().await?;
    store::record_login(&mut tx, user.id, now, new_hash.as_deref()).await?;
    audit_self(&mut tx, state, (user.id, &user.username), ip, EventKind("user.login", vec![])).await?;
    tx.commit().await?;
    tracing::info!(event = "login", user_id = user.id, "logged in");
    Ok(User { last_login: Some(now), password_hash: new_hash.unwrap_or(user.password_hash), ..user })
}

/// A burst of failed logins (the one that starts the throttle) goes into the audit trail, on the
/// account when it exists. The login name typed for an unknown account is kept as the target.
async fn record_burst(state: &AppState, user: Option<&User>, login_key: &str, ip: IpAddr) -> Result<()> {
    let event = match user {
        Some(user) => Event::new(audit::Actor::anonymous(ip), "user.login_failed_burst", "user", Some(user.id))
            .named(&user.username),
        None => Event::new(audit::Actor::anonymous(ip), "user.login_failed_burst", "user", None).named(login_key),
    };
    let mut tx = state.db.begin_write().await?;
    audit::record(&mut tx, &event.because(&format!("{MAX_FAILURES} failed logins in 15 minutes")), state.clock.now())
        .await?;
    tx.commit().await?;
    Ok(())
}
