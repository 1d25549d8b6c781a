//! Logging in and out.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::invalid;
use crate::apps::accounts::extract::{MaybeUser, Origin, Viewer, end_session, start_session};
use crate::apps::accounts::forms::{ButtonForm, LoginForm, NextQuery};
use crate::apps::accounts::service::{self, AccountsError, LoginAttempt};
use crate::kernel::AppState;
use crate::kernel::http::redirect::safe_next;
use crate::kernel::http::{AppError, CsrfForm, PageContext, render};
use crate::kernel::security::password::Password;

const PROFILE: &str = "/accounts/profile/";

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    page: PageContext,
    login: String,
    next: String,
    error: Option<&'static str>,
    not_confirmed: bool,
    /// The single sign-on button's label, when single sign-on is configured.
    sso_label: Option<String>,
    /// Password login is offered (not with `SSO_ONLY`).
    password_login: bool,
}

impl LoginPage {
    fn new(state: &AppState, page: PageContext, login: String, next: String) -> Self {
        Self {
            page,
            login,
            next,
            error: None,
            not_confirmed: false,
            sso_label: state.settings.oidc_issuer_url.as_ref().map(|_| state.settings.oidc_button_label.clone()),
            password_login: !state.settings.sso_only,
        }
    }
}

pub async fn login_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    if viewer.user.is_some() {
        return Ok(Redirect::to(safe_next(&query.next, PROFILE)).into_response());
    }
    render(&LoginPage::new(&state, viewer.page, String::new(), query.next))
}

pub async fn login(
    State(state): State<AppState>,
    origin: Origin,
    session: Session,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, AppError> {
    let attempt = LoginAttempt { login: form.login.clone(), password: Password::new(form.password) };
    let (error, not_confirmed) = match service::authenticate(&state, attempt, origin.ip).await {
        Ok(user) => {
            start_session(&state, &session, &user, &origin).await?;
            return Ok(Redirect::to(safe_next(&form.next, PROFILE)).into_response());
        }
        Err(AccountsError::InvalidCredentials) => ("Please enter a correct username/email and password.", false),
        Err(AccountsError::NotConfirmed) => (service::NOT_CONFIRMED, true),
        Err(AccountsError::Throttled(wait)) => {
            return Err(AppError::TooManyRequests { retry_after: wait });
        }
        Err(other) => return Err(other.into()),
    };
    let page =
        LoginPage { error: Some(error), not_confirmed, ..LoginPage::new(&state, viewer.page, form.login, form.next) };
    invalid(render(&page))
}

/// Ends the session (POST only) and goes home.
pub async fn logout(
    session: Session,
    MaybeUser(user): MaybeUser,
    CsrfForm(_): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    end_session(&session, user.as_ref()).await?;
    Ok(Redirect::to("/").into_response())
}
