//! Console pages. Every handler takes `StaffUser`, on top of the router's guard.

mod content;
mod dashboard;
pub mod login;
mod outbox;
mod users;

use axum::Router;
use axum::routing::{get, post};

use crate::apps::accounts::StaffActor;
use crate::kernel::AppState;
use crate::kernel::audit::Entry;
use crate::kernel::clock::format_timestamp;

pub fn router(state: &AppState) -> Router<AppState> {
    let held_mail = if state.settings.mail_outbox { outbox::router() } else { Router::new() };
    Router::new()
        .merge(held_mail)
        .route("/admin/", get(dashboard::dashboard_page))
        .route("/admin/users/", get(users::users_page))
        .route("/admin/users/bulk/", post(users::bulk))
        .route("/admin/users/{id}/", get(users::user_page).post(users::edit_user))
        .route("/admin/users/{id}/sessions/", post(users::revoke_sessions))
        .route("/admin/users/{id}/password-reset/", post(users::send_password_reset))
        .route("/admin/users/{id}/delete/", get(users::delete_form).post(users::delete_user))
        .route("/admin/posts/", get(content::posts_page))
        .route("/admin/posts/{id}/delete/", get(content::delete_post_form).post(content::delete_post))
        .route("/admin/audit/", get(content::audit_page))
}

fn staff_actor(user: crate::apps::accounts::User, ip: std::net::IpAddr) -> StaffActor {
    StaffActor { user, ip }
}

/// An audit entry as the console lists it.
pub struct AuditRow {
    pub entry: Entry,
    pub when: String,
    pub who: String,
    pub changes: String,
}

impl From<Entry> for AuditRow {
    fn from(entry: Entry) -> Self {
        let who = match (&entry.actor_id, entry.actor_name.as_str()) {
            (_, name) if !name.is_empty() => name.to_owned(),
            (Some(id), _) => format!("user #{id}"),
            (None, _) => "anonymous".to_owned(),
        };
        let changes = entry
            .change_list()
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, c.before, c.after))
            .collect::<Vec<_>>()
            .join("; ");
        Self { when: format_timestamp(entry.created_at), who, changes, entry }
    }
}
