//! Server-rendered pages: plain HTML forms that work without JavaScript. Emailed links land on
//! a GET that shows a button; only the POST changes anything.

mod password;
mod personal;
mod profile;
mod session;
mod signup;
mod sso;
mod staff;

pub(super) use signup::{confirm, confirm_page};
pub use sso::sso_only_gate;

use askama::Template;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::apps::accounts::service::{self, AccountsError};
use crate::kernel::AppState;
use crate::kernel::http::render::invalid;
use crate::kernel::http::{AppError, PageContext, render};
use crate::kernel::validation::FieldErrors;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accounts/signup/", get(signup::signup_form).post(signup::signup))
        .route("/accounts/confirm/{token}/", get(signup::confirm_page).post(signup::confirm))
        .route("/accounts/resend/", get(signup::resend_form).post(signup::resend))
        .route("/accounts/login/", get(session::login_form).post(session::login))
        .route("/accounts/logout/", post(session::logout))
        .route("/accounts/profile/", get(profile::profile_page))
        .route("/accounts/profile/edit/", get(profile::edit_form).post(profile::edit))
        .route("/accounts/email/", get(profile::email_change_form).post(profile::email_change))
        .route("/accounts/email/confirm/{token}/", get(profile::email_confirm_page).post(profile::email_confirm))
        .route("/accounts/personal-email/", get(personal::personal_email_page).post(personal::add_personal_email))
        .route("/accounts/personal-email/remove/", post(personal::remove_personal_email))
        .route(
            "/accounts/personal-email/confirm/{token}/",
            get(personal::personal_confirm_page).post(personal::personal_confirm),
        )
        .route("/accounts/password/", get(password::password_change_form).post(password::password_change))
        .route("/accounts/password-reset/", get(password::password_reset_form).post(password::password_reset))
        .route(
            "/accounts/password-reset/{token}/",
            get(password::password_reset_confirm_form).post(password::password_reset_confirm),
        )
        .route("/accounts/delete/", get(profile::delete_form).post(profile::delete))
        .route("/accounts/sessions/", post(profile::end_sessions))
        .route("/accounts/users/", get(staff::users_page))
        .route("/accounts/sso/login/", post(sso::sso_start))
        .route(super::sso::CALLBACK_PATH, get(sso::sso_callback))
        .route("/accounts/break-glass/{token}/", get(sso::break_glass_page).post(sso::break_glass))
        .layer(Extension(super::sso::SsoClient::default()))
}

/// A page that only says something: the outcome of a form, or an emailed link's result.
#[derive(Template)]
#[template(path = "accounts/message.html")]
struct MessagePage<'a> {
    page: PageContext,
    title: &'a str,
    paragraphs: Vec<String>,
    link: Option<(&'a str, &'a str)>,
}

fn message_page(
    page: PageContext,
    title: &str,
    paragraphs: &[&str],
    link: Option<(&str, &str)>,
) -> Result<Response, AppError> {
    let paragraphs = paragraphs.iter().map(|p| (*p).to_owned()).collect();
    render(&MessagePage { page, title, paragraphs, link })
}

/// The words around one kind of emailed link: its confirm page, its outcome, and where to go
/// when it no longer works.
struct LinkTexts {
    title: &'static str,
    text: &'static str,
    button: &'static str,
    done_title: &'static str,
    done_text: &'static str,
    done_link: (&'static str, &'static str),
    retry_text: &'static str,
    retry_link: Option<(&'static str, &'static str)>,
}

/// The page an emailed link opens: a button that POSTs, or a note that the link is dead.
#[derive(Template)]
#[template(path = "accounts/confirm.html")]
struct ConfirmPage<'a> {
    page: PageContext,
    link: &'a LinkTexts,
    live: bool,
}

/// GET of an emailed link: shows its button while the link still works. Changes nothing.
async fn link_page(state: &AppState, page: PageContext, token: &str, link: &LinkTexts) -> Result<Response, AppError> {
    let live = service::link_is_live(state, token).await?;
    Ok(no_referrer(render(&ConfirmPage { page, link, live })?))
}

/// The page after the link's POST: done, or why the link did not work.
fn link_outcome(page: PageContext, outcome: Result<(), AccountsError>, link: &LinkTexts) -> Result<Response, AppError> {
    let response = match outcome {
        Ok(()) => message_page(page, link.done_title, &[link.done_text], Some(link.done_link))?,
        Err(AccountsError::InvalidToken | AccountsError::Invalid(_)) => invalid(message_page(
            page,
            "This link does not work",
            &[service::INVALID_TOKEN, link.retry_text],
            link.retry_link,
        ))?,
        Err(other) => return Err(other.into()),
    };
    Ok(no_referrer(response))
}

/// Pages whose URL carries a token send no Referer, so the token cannot leak to other sites.
fn no_referrer(mut response: Response) -> Response {
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn no_errors() -> FieldErrors {
    FieldErrors::new()
}
