//! Accounts: sign-up with email confirmation, login and logout, profile, email and password
//! changes, password reset, account deletion and export, and the staff user list — as pages
//! and as the playbook-compatible JSON API; single sign-on through OpenID Connect (`sso`), with
//! a break-glass staff link. Other apps use `CurrentUser`/`StaffUser`/`Viewer`.

mod api;
mod emails;
mod errors;
mod extract;
mod forms;
mod invariants;
mod model;
mod pages;
mod sections;
mod service;
mod sso;
mod store;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

pub use extract::{CurrentUser, MaybeUser, Origin, StaffUser, Viewer, end_session, start_session};
pub use invariants::check_invariants;
pub use model::{SessionInfo, User};
pub use pages::sso_only_gate;
pub use sections::{Summary, SummaryLine, UserSection, UserSections};
pub use service::issue_break_glass_link;
pub use service::{
    AccountStats, AccountsError, LoginAttempt, StaffActor, USERS_PER_PAGE, UserEditInput, account_stats, authenticate,
    badge_address, cleanup, confirmed_emails, create_superuser, delete_user, edit_user, find_user, find_user_by_login,
    list_users, normalize_stored_usernames, revoke_sessions, send_password_reset, user_sessions,
};
pub use store::{UserFilter, UserSort};

use crate::kernel::AppState;
use crate::kernel::jobs::{Registry, Schedule};

pub fn router() -> Router<AppState> {
    pages::router()
}

pub fn api_routes() -> OpenApiRouter<AppState> {
    api::routes()
}

/// The jobs this app runs: its emails, and the daily cleanup.
pub fn register_jobs(registry: &mut Registry, state: &AppState) {
    let mail_state = state.clone();
    registry.handle(emails::JOB_KIND, move |job| {
        let state = mail_state.clone();
        async move { emails::deliver(&state, serde_json::from_value(job.payload.clone())?, &job.key()).await }
    });
    let cleanup_state = state.clone();
    registry.handle("accounts.cleanup", move |_| {
        let state = cleanup_state.clone();
        async move {
            service::cleanup(&state).await.map_err(|e| anyhow::anyhow!("cleanup failed: {e}"))?;
            Ok(())
        }
    });
    registry.schedule(Schedule { name: "accounts.cleanup", every_secs: 86_400, kind: "accounts.cleanup" });
}
