//! The console's own login and logout, so the console works entirely under `/admin/` (and its
//! assets under `/static/admin/`), as the Django admin it replaces does: a proxy that forwards
//! only those paths serves all of it. Only staff accounts may sign in here.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::apps::accounts::{self, AccountsError, LoginAttempt, MaybeUser, Origin, Viewer};
use crate::kernel::AppState;
use crate::kernel::http::redirect::safe_next;
use crate::kernel::http::render::invalid;
use crate::kernel::http::{AppError, CsrfForm, PageContext, render};
use crate::kernel::security::password::Password;

const DASHBOARD: &str = "/admin/";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    pub login: String,
    pub password: String,
    pub next: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    pub next: String,
}

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    page: PageContext,
    login: String,
    next: String,
    error: Option<&'static str>,
}

pub async fn login_form(viewer: Viewer, Query(query): Query<NextQuery>) -> Result<Response, AppError> {
    if viewer.user.as_ref().is_some_and(|u| u.is_staff) {
        return Ok(Redirect::to(console_next(&query.next)).into_response());
    }
    render(&LoginPage { page: viewer.page, login: String::new(), next: query.next, error: None })
}

pub async fn login(
    State(state): State<AppState>,
    origin: Origin,
    session: Session,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, AppError> {
    let attempt = LoginAttempt { login: form.login.clone(), password: Password::new(form.password) };
    let error = match accounts::authenticate(&state, attempt, origin.ip).await {
        Ok(user) if user.is_staff => {
            accounts::start_session(&state, &session, &user, &origin).await?;
            return Ok(Redirect::to(console_next(&form.next)).into_response());
        }
        // Django's admin says the same for a wrong password and for an account without access.
        Ok(_) | Err(AccountsError::InvalidCredentials | AccountsError::NotConfirmed) => {
            "Please enter the correct username and password for a staff account."
        }
        Err(other) => return Err(other.into()),
    };
    invalid(render(&LoginPage { page: viewer.page, login: form.login, next: form.next, error: Some(error) }))
}

/// Ends the session and goes back to the console's login page.
pub async fn logout(
    session: Session,
    MaybeUser(user): MaybeUser,
    CsrfForm(_): CsrfForm<NextQuery>,
) -> Result<Response, AppError> {
    accounts::end_session(&session, user.as_ref()).await?;
    Ok(Redirect::to("/admin/login/").into_response())
}

/// Where to go after signing in: a console page asked for, or the dashboard.
fn console_next(next: &str) -> &str {
    let next = safe_next(next, DASHBOARD);
    if next.starts_with("/admin/") { next } else { DASHBOARD }
}
