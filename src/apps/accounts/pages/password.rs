//! Password change (signed in) and password reset (from an emailed link).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::signup::EmailFormPage;
use super::{invalid, message_page, no_errors, no_referrer};
use crate::apps::accounts::extract::{CurrentUser, Viewer, refresh_session};
use crate::apps::accounts::forms::{EmailForm, NewPasswordForm, PasswordChangeForm};
use crate::apps::accounts::model::User;
use crate::apps::accounts::service::{self, AccountsError};
use crate::kernel::AppState;
use crate::kernel::http::render::flash;
use crate::kernel::http::{AppError, ClientIp, CsrfForm, PageContext, render};
use crate::kernel::security::password::Password;
use crate::kernel::session::current_hash;
use crate::kernel::validation::FieldErrors;

#[derive(Template)]
#[template(path = "accounts/password_change.html")]
struct PasswordChangePage {
    page: PageContext,
    errors: FieldErrors,
    min_chars: usize,
}

pub async fn password_change_form(
    State(state): State<AppState>,
    CurrentUser(_): CurrentUser,
    viewer: Viewer,
) -> Result<Response, AppError> {
    render(&PasswordChangePage { page: viewer.page, errors: no_errors(), min_chars: state.policy.min_chars() })
}

pub async fn password_change(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    session: Session,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<PasswordChangeForm>,
) -> Result<Response, AppError> {
    let current = Password::new(form.current_password);
    let new = Password::new(form.new_password);
    match service::change_password(&state, &user, &current, &new, current_hash(&session).as_deref(), ip).await {
        Ok(hash) => {
            refresh_session(&state, &session, &User { password_hash: hash, ..user }).await?;
            flash(&session, "success", "Your password was changed. Your other sessions were signed out.").await?;
            Ok(Redirect::to("/accounts/profile/").into_response())
        }
        Err(AccountsError::Invalid(errors)) => {
            invalid(render(&PasswordChangePage { page: viewer.page, errors, min_chars: state.policy.min_chars() }))
        }
        Err(other) => Err(other.into()),
    }
}

fn reset_request_page(page: PageContext, email: String, errors: FieldErrors) -> EmailFormPage<'static> {
    EmailFormPage {
        page,
        title: "Forgot your password?",
        intro: "Enter your email address and we will send you a link to choose a new password.",
        button: "Send reset link",
        email,
        errors,
    }
}

pub async fn password_reset_form(viewer: Viewer) -> Result<Response, AppError> {
    render(&reset_request_page(viewer.page, String::new(), no_errors()))
}

pub async fn password_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<Response, AppError> {
    service::request_password_reset(&state, &form.email, ip).await?;
    message_page(
        viewer.page,
        "Check your email",
        &[&format!(
            "If an account exists for that address, we sent it a link to choose a new password. \
                 The link expires in {} minutes.",
            state.settings.password_reset_ttl_minutes
        )],
        Some(("Back to log in", "/accounts/login/")),
    )
}

#[derive(Template)]
#[template(path = "accounts/password_reset_confirm.html")]
struct ResetConfirmPage {
    page: PageContext,
    live: bool,
    errors: FieldErrors,
    min_chars: usize,
    ttl_minutes: i64,
}

pub async fn password_reset_confirm_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let live = service::link_is_live(&state, &token).await?;
    let min_chars = state.policy.min_chars();
    let ttl_minutes = state.settings.password_reset_ttl_minutes;
    let page = ResetConfirmPage { page: viewer.page, live, errors: no_errors(), min_chars, ttl_minutes };
    Ok(no_referrer(render(&page)?))
}

pub async fn password_reset_confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<NewPasswordForm>,
) -> Result<Response, AppError> {
    let (min_chars, ttl_minutes) = (state.policy.min_chars(), state.settings.password_reset_ttl_minutes);
    let response = match service::reset_password(&state, &token, &Password::new(form.new_password), ip).await {
        Ok(()) => message_page(
            viewer.page,
            "Your password has been changed",
            &["You can now log in with your new password. Every session of your account was signed out."],
            Some(("Log in", "/accounts/login/")),
        )?,
        Err(AccountsError::Invalid(mut errors)) => {
            // The service names the field `password`; this form calls it `new_password`.
            if let Some(message) = errors.get("password").map(str::to_owned) {
                errors = FieldErrors::single("new_password", message);
            }
            invalid(render(&ResetConfirmPage { page: viewer.page, live: true, errors, min_chars, ttl_minutes }))?
        }
        Err(AccountsError::InvalidToken) => invalid(render(&ResetConfirmPage {
            page: viewer.page,
            live: false,
            errors: no_errors(),
            min_chars,
            ttl_minutes,
        }))?,
        Err(other) => return Err(other.into()),
    };
    Ok(no_referrer(response))
}
