//! What staff do to accounts (the admin console calls these), the first superuser, and the
//! daily cleanup. The rules that protect staff from themselves live here: nobody removes their
//! own staff flag, deactivates or deletes themselves, and only superusers touch superusers.

use std::net::IpAddr;

use super::{AccountsError, EMAIL_KEY, Result, USERNAME_KEY, check_new_password, invalid, issue_link, unique};
use crate::apps::accounts::model::{EmailAddress, Names, NewUser, TokenPurpose, User, Username, parse_name};
use crate::apps::accounts::sections::UserSections;
use crate::apps::accounts::store::{self, UserFilter};
use crate::kernel::AppState;
use crate::kernel::audit::{self, Change, Event};
use crate::kernel::db::UniqueField;
use crate::kernel::pagination::PageRequest;
use crate::kernel::security::password::Password;
use crate::kernel::validation::FieldErrors;

pub const USERS_PER_PAGE: i64 = 25;

/// One page of users, and whether another follows.
pub struct UserPage {
    pub users: Vec<User>,
    pub has_next: bool,
    /// How many match in all; counted only when asked (a filtered count scans the table).
    pub total: Option<i64>,
}

/// One page of users matching `filter`, `USERS_PER_PAGE` to a page.
pub async fn list_users(
    state: &AppState,
    filter: &UserFilter,
    page: PageRequest,
    with_total: bool,
) -> Result<UserPage> {
    let mut filter = filter.clone();
    filter.search = filter.search.trim().chars().take(100).collect();
    let mut users = store::list_users(&state.db, &filter, page.size + 1, page.offset()).await?;
    let has_next = users.len() as i64 > page.size;
    users.truncate(usize::try_from(page.size).unwrap_or(0));
    let total = if with_total { Some(store::count_users(&state.db, &filter).await?) } else { None };
    Ok(UserPage { users, has_next, total })
}

/// Makes an active staff superuser, as `createsuperuser` does. The password policy applies.
pub async fn create_superuser(state: &AppState, username: &str, email: &str, password: &Password) -> Result<i64> {
    let username = Username::parse(username).map_err(|e| invalid("username", e))?;
    let email = EmailAddress::parse(email).map_err(|e| invalid("email", e))?;
    check_new_password(state, "password", password, &[username.as_str(), email.as_str()])?;
    let password_hash = state.passwords.hash(password).await?;
    let name = username.as_str().to_owned();
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
    let taken = [
        UniqueField {
            constraint: USERNAME_KEY,
            field: "username",
            message: "A user with that username already exists.",
        },
        UniqueField {
            constraint: EMAIL_KEY,
            field: "email",
            message: "A user with that email address already exists.",
        },
    ];
    let id = store::insert_user(&mut tx, &user, state.clock.now()).await.map_err(|err| unique(err, &taken))?;
    let event = Event::new(audit::Actor::system(), "user.superuser_created", "user", Some(id)).named(&name);
    audit::record(&mut tx, &event, state.clock.now()).await?;
    tx.commit().await?;
    Ok(id)
}

/// A staff member acting in the console, and from where.
#[derive(Clone, Debug)]
pub struct StaffActor {
    pub user: User,
    pub ip: IpAddr,
}

impl StaffActor {
    fn audit(&self) -> audit::Actor {
        audit::Actor::user(self.user.id, &self.user.username, self.ip)
    }
}

/// What the console's edit form sends.
#[derive(Clone, Debug)]
pub struct UserEditInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
}

fn flag(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// The self-protection and superuser rules for one change of `target` by `actor`.
fn check_allowed(actor: &User, target: &User, edit: &UserEditInput) -> Result<()> {
    let myself = actor.id == target.id;
    if myself && (!edit.is_staff || !edit.is_active) {
        return Err(invalid("is_staff", "You cannot remove your own staff access or deactivate yourself."));
    }
    if !actor.is_superuser && (target.is_superuser || edit.is_superuser) {
        return Err(AccountsError::Forbidden);
    }
    Ok(())
}

/// Applies a console edit; deactivation ends the user's sessions at once.
pub async fn edit_user(state: &AppState, actor: &StaffActor, target_id: i64, edit: &UserEditInput) -> Result<User> {
    let target = store::find_user(&state.db.pool, target_id).await?.ok_or(AccountsError::NotFound)?;
    check_allowed(&actor.user, &target, edit)?;
    let mut errors = FieldErrors::new();
    let first_name = parse_name(&edit.first_name).unwrap_or_else(|e| {
        errors.add("first_name", e);
        String::new()
    });
    let last_name = parse_name(&edit.last_name).unwrap_or_else(|e| {
        errors.add("last_name", e);
        String::new()
    });
    let email = EmailAddress::parse(&edit.email).map_err(|e| errors.add("email", e)).ok();
    let Some(email) = email.filter(|_| errors.is_empty()) else { return Err(AccountsError::Invalid(errors)) };

    let changes = audit::diff(&[
        ("first_name", target.first_name.clone(), first_name.clone()),
        ("last_name", target.last_name.clone(), last_name.clone()),
        ("email", target.email.clone(), email.as_str().to_owned()),
        ("is_active", flag(target.is_active).into(), flag(edit.is_active).into()),
        ("is_staff", flag(target.is_staff).into(), flag(edit.is_staff).into()),
        ("is_superuser", flag(target.is_superuser).into(), flag(edit.is_superuser).into()),
    ]);
    if changes.is_empty() {
        return Ok(target);
    }
    let row = store::UserEdit {
        first_name: &first_name,
        last_name: &last_name,
        email: email.as_str(),
        email_key: &email.key(),
        is_active: edit.is_active,
        is_staff: edit.is_staff,
        is_superuser: edit.is_superuser,
    };
    let mut tx = state.db.begin_write().await?;
    let taken = UniqueField { constraint: EMAIL_KEY, field: "email", message: "Another account uses this address." };
    store::update_user(&mut tx, target.id, &row).await.map_err(|err| unique(err, &[taken]))?;
    let event = Event::new(actor.audit(), "admin.user_updated", "user", Some(target.id)).named(&target.username);
    audit::record(&mut tx, &event.with_changes(changes), state.clock.now()).await?;
    tx.commit().await?;
    let privileges_changed = target.is_staff != edit.is_staff || target.is_superuser != edit.is_superuser;
    if !edit.is_active || privileges_changed {
        // Deactivation and privilege changes start from fresh sessions.
        store::delete_user_sessions(&state.db, target.id, None).await?;
    }
    store::find_user(&state.db.pool, target.id).await?.ok_or(AccountsError::NotFound)
}

/// Deletes a user from the console (never oneself; superusers only by superusers).
pub async fn delete_user(state: &AppState, sections: &UserSections, actor: &StaffActor, target_id: i64) -> Result<()> {
    let target = store::find_user(&state.db.pool, target_id).await?.ok_or(AccountsError::NotFound)?;
    if target.id == actor.user.id {
        return Err(invalid("user", "You cannot delete your own account from the console."));
    }
    if target.is_superuser && !actor.user.is_superuser {
        return Err(AccountsError::Forbidden);
    }
    let mut tx = state.db.begin_write().await?;
    super::delete_with_sections(&mut tx, sections, &target).await?;
    let event = Event::new(actor.audit(), "admin.user_deleted", "user", Some(target.id)).named(&target.username);
    audit::record(&mut tx, &event, state.clock.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// Only superusers act on superusers (anyone may act on themselves).
fn check_may_manage(actor: &User, target: &User) -> Result<()> {
    if target.is_superuser && !actor.is_superuser && actor.id != target.id {
        return Err(AccountsError::Forbidden);
    }
    Ok(())
}

/// Emails the user a password-reset link. Staff may send one at any time: the hourly cap of
/// the "forgot password" form is for visitors.
pub async fn send_password_reset(state: &AppState, actor: &StaffActor, target_id: i64) -> Result<()> {
    let target = store::find_user(&state.db.pool, target_id).await?.ok_or(AccountsError::NotFound)?;
    check_may_manage(&actor.user, &target)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    store::void_tokens(&mut tx, target.id, TokenPurpose::Reset, now).await?;
    let ttl = state.settings.password_reset_ttl_minutes * 60;
    issue_link(state, &mut tx, target.id, TokenPurpose::Reset, &target.email, ttl).await?;
    let event = Event::new(actor.audit(), "admin.password_reset_sent", "user", Some(target.id)).named(&target.username);
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Staff end one session (`Some(id_hash)`) or every session of a user; returns the user and
/// how many sessions ended.
pub async fn revoke_sessions(
    state: &AppState,
    actor: &StaffActor,
    target_id: i64,
    session: Option<&str>,
) -> Result<(User, u64)> {
    let target = store::find_user(&state.db.pool, target_id).await?.ok_or(AccountsError::NotFound)?;
    check_may_manage(&actor.user, &target)?;
    let ended = end_sessions(state, &actor.audit(), &target, session, None).await?;
    Ok((target, ended))
}

/// Ends one session (`Some(id_hash)`) or all sessions of `target` but `keep`, and records who
/// did it when any ended.
pub(super) async fn end_sessions(
    state: &AppState,
    actor: &audit::Actor,
    target: &User,
    session: Option<&str>,
    keep: Option<&str>,
) -> Result<u64> {
    let ended = match session {
        Some(id_hash) => u64::from(store::delete_user_session(&state.db, target.id, id_hash).await?),
        None => store::delete_user_sessions(&state.db, target.id, keep).await?,
    };
    if ended > 0 {
        let mut tx = state.db.begin_write().await?;
        let event = Event::new(actor.clone(), "user.sessions_revoked", "user", Some(target.id))
            .named(&target.username)
            .with_changes(vec![Change::new("sessions", ended, 0)]);
        audit::record(&mut tx, &event, state.clock.now()).await?;
        tx.commit().await?;
    }
    Ok(ended)
}

/// Removes expired tokens and sessions, stale login counters, and sign-ups never confirmed
/// within the confirmation window.
pub async fn cleanup(state: &AppState) -> Result<u64> {
    let now = state.clock.now();
    let unconfirmed_before = now - state.settings.confirmation_ttl_hours * 3600;
    let mut tx = state.db.begin_write().await?;
    let users = store::delete_unconfirmed_users(&mut tx, unconfirmed_before).await?;
    if users > 0 {
        let event = Event::new(audit::Actor::system(), "user.unconfirmed_removed", "user", None)
            .because(&format!("{users} sign-up(s) never confirmed"));
        audit::record(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    let removed = users
        + store::delete_expired_rows(&state.db.pool, now, now - 3600).await?
        + store::delete_expired_sessions(&state.db.pool, now).await?;
    state.limits.sweep();
    tracing::info!(event = "cleanup", removed, "removed expired rows");
    Ok(removed)
}

/// The dashboard's account numbers.
#[derive(Debug, Clone, Default)]
pub struct AccountStats {
    pub users: i64,
    pub active: i64,
    pub new_this_week: i64,
    /// Sign-ups per day for the last 30 days, oldest first.
    pub signups: Vec<(i64, i64)>,
}

pub async fn account_stats(state: &AppState) -> Result<AccountStats> {
    let now = state.clock.now();
    let (users, active, new_this_week) = store::user_counts(&state.db.pool, now - 7 * 86_400).await?;
    let today = now.div_euclid(86_400);
    let counted = store::signups_per_day(&state.db.pool, (today - 29) * 86_400).await?;
    let signups =
        (today - 29..=today).map(|day| (day, counted.iter().find(|(d, _)| *d == day).map_or(0, |(_, n)| *n))).collect();
    Ok(AccountStats { users, active, new_this_week, signups })
}
