//! The personal email page: add one (a link confirms it), see which is confirmed or waiting,
//! remove it; and the page its emailed link opens.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{LinkTexts, invalid, link_outcome, link_page, no_errors};
use crate::apps::accounts::extract::{CurrentUser, Viewer};
use crate::apps::accounts::forms::{ButtonForm, ChangeEmailForm};
use crate::apps::accounts::model::User;
use crate::apps::accounts::service::{self, AccountsError, PersonalEmail};
use crate::kernel::AppState;
use crate::kernel::http::render::flash;
use crate::kernel::http::{AppError, ClientIp, CsrfForm, PageContext, render};
use crate::kernel::security::password::Password;
use crate::kernel::validation::FieldErrors;

const PAGE: &str = "/accounts/personal-email/";

#[derive(Template)]
#[template(path = "accounts/personal_email.html")]
struct PersonalEmailPage {
    page: PageContext,
    account: String,
    has_password: bool,
    personal: PersonalEmail,
    email: String,
    errors: FieldErrors,
}

async fn show(
    state: &AppState,
    page: PageContext,
    user: User,
    email: String,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let personal = service::personal_email(state, &user).await?;
    let has_password = user.has_password();
    render(&PersonalEmailPage { page, account: user.email, has_password, personal, email, errors })
}

pub async fn personal_email_page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    viewer: Viewer,
) -> Result<Response, AppError> {
    show(&state, viewer.page, user, String::new(), no_errors()).await
}

pub async fn add_personal_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    session: Session,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ChangeEmailForm>,
) -> Result<Response, AppError> {
    let password = Password::new(form.password);
    match service::request_personal_email(&state, &user, &form.email, &password, ip).await {
        Ok(()) => {
            let text =
                "We sent a confirmation link to that address. It becomes your personal address when you open it.";
            flash(&session, "info", text).await?;
            Ok(Redirect::to(PAGE).into_response())
        }
        Err(AccountsError::Invalid(errors)) => invalid(show(&state, viewer.page, user, form.email, errors).await),
        Err(other) => Err(other.into()),
    }
}

pub async fn remove_personal_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    session: Session,
    CsrfForm(_): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    service::remove_personal_email(&state, &user, ip).await?;
    flash(&session, "success", "Your personal address was removed.").await?;
    Ok(Redirect::to(PAGE).into_response())
}

const PERSONAL_LINK: LinkTexts = LinkTexts {
    title: "Confirm your personal email address",
    text: "Confirm to add this address to your account: password resets can be sent to it, and your badges are issued to it.",
    button: "Confirm my personal address",
    done_title: "Your personal address was added",
    done_text: "Password resets can now be sent to it, and your badges are issued to it.",
    done_link: ("Go to my profile", "/accounts/profile/"),
    retry_text: "You can ask for a new link from your profile.",
    retry_link: None,
};

pub async fn personal_confirm_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    link_page(&state, viewer.page, &token, &PERSONAL_LINK).await
}

pub async fn personal_confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    link_outcome(viewer.page, service::confirm_personal_email(&state, &token, ip).await, &PERSONAL_LINK)
}
