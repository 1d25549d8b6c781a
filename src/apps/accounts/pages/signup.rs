//! Sign-up, the confirmation link and "resend the link".

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::{LinkTexts, invalid, link_outcome, link_page, message_page, no_errors};
use crate::apps::accounts::extract::Viewer;
use crate::apps::accounts::forms::{ButtonForm, EmailForm, SignupForm};
use crate::apps::accounts::service::{self, AccountsError};
use crate::kernel::AppState;
use crate::kernel::http::{AppError, ClientIp, CsrfForm, PageContext, render};
use crate::kernel::validation::FieldErrors;

#[derive(Template)]
#[template(path = "accounts/signup.html")]
struct SignupPage {
    page: PageContext,
    form: SignupForm,
    errors: FieldErrors,
    min_chars: usize,
}

pub async fn signup_form(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let min_chars = state.policy.min_chars();
    render(&SignupPage { page: viewer.page, form: SignupForm::default(), errors: no_errors(), min_chars })
}

pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<Response, AppError> {
    let (input, form) = form.into_input();
    match service::signup(&state, input, ip).await {
        Ok(()) => message_page(
            viewer.page,
            "Check your email",
            &[
                &format!("We sent a confirmation link to {}. Open it to activate your account.", form.email.trim()),
                &format!(
                    "The link expires after {} hours. Nothing arrived? Check your spam folder, or ask for a new link.",
                    state.settings.confirmation_ttl_hours
                ),
            ],
            Some(("Send a new link", "/accounts/resend/")),
        ),
        Err(AccountsError::Invalid(errors)) => {
            let min_chars = state.policy.min_chars();
            invalid(render(&SignupPage { page: viewer.page, form, errors, min_chars }))
        }
        Err(other) => Err(other.into()),
    }
}

const ACCOUNT_LINK: LinkTexts = LinkTexts {
    title: "Confirm your account",
    text: "One click and your account is ready.",
    button: "Confirm my account",
    done_title: "Your account is confirmed",
    done_text: "Welcome aboard! You can log in now.",
    done_link: ("Log in", "/accounts/login/"),
    retry_text: "Links work once and expire. You can ask for a new one.",
    retry_link: Some(("Send a new link", "/accounts/resend/")),
};

pub async fn confirm_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    link_page(&state, viewer.page, &token, &ACCOUNT_LINK).await
}

pub async fn confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    link_outcome(viewer.page, service::confirm_account(&state, &token, ip).await, &ACCOUNT_LINK)
}

#[derive(Template)]
#[template(path = "accounts/email_form.html")]
pub(super) struct EmailFormPage<'a> {
    pub page: PageContext,
    pub title: &'a str,
    pub intro: &'a str,
    pub button: &'a str,
    pub email: String,
    pub errors: FieldErrors,
}

pub async fn resend_form(viewer: Viewer) -> Result<Response, AppError> {
    render(&resend_page(viewer.page, String::new(), no_errors()))
}

fn resend_page(page: PageContext, email: String, errors: FieldErrors) -> EmailFormPage<'static> {
    EmailFormPage {
        page,
        title: "Send a new confirmation link",
        intro: "Enter the address you signed up with and we will send a fresh link.",
        button: "Send link",
        email,
        errors,
    }
}

pub async fn resend(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<Response, AppError> {
    match service::resend_confirmation(&state, &form.email, ip).await {
        Ok(()) => message_page(
            viewer.page,
            "Check your email",
            &["If that address belongs to an account waiting for confirmation, we sent it a new link."],
            None,
        ),
        Err(AccountsError::Invalid(errors)) => invalid(render(&resend_page(viewer.page, form.email, errors))),
        Err(other) => Err(other.into()),
    }
}
