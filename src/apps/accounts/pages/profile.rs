//! The profile: see my data, edit names, change email, delete the account.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{LinkTexts, invalid, link_outcome, link_page, message_page, no_errors};
use crate::apps::accounts::extract::{CurrentUser, Viewer};
use crate::apps::accounts::forms::{ButtonForm, ChangeEmailForm, NamesForm, PasswordForm, SessionForm};
use crate::apps::accounts::model::{SessionInfo, User};
use crate::apps::accounts::sections::{Summary, UserSections};
use crate::apps::accounts::service::{self, AccountsError, NamesInput};
use crate::kernel::AppState;
use crate::kernel::clock::format_timestamp;
use crate::kernel::http::render::flash;
use crate::kernel::http::{AppError, ClientIp, CsrfForm, PageContext, render};
use crate::kernel::security::password::Password;
use crate::kernel::session::current_hash;
use crate::kernel::validation::FieldErrors;

#[derive(Template)]
#[template(path = "accounts/profile.html")]
struct ProfilePage {
    page: PageContext,
    user: User,
    sections: Vec<Summary>,
    sessions: Vec<SessionRow>,
    security: Vec<(String, String, String)>,
    personal_email: Option<String>,
}

/// One of my sessions: when it began, when it was last used, from where, and whether it is
/// the one I am using now.
struct SessionRow {
    info: SessionInfo,
    created: String,
    seen: String,
    current: bool,
}

pub async fn profile_page(
    State(state): State<AppState>,
    Extension(sections): Extension<UserSections>,
    CurrentUser(user): CurrentUser,
    session: Session,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let sections = service::profile_summaries(&state, &sections, &user).await?;
    let current = current_hash(&session);
    let sessions = service::user_sessions(&state, user.id)
        .await?
        .into_iter()
        .map(|info| SessionRow {
            created: format_timestamp(info.created_at),
            seen: format_timestamp(info.last_seen_at),
            current: Some(&info.id_hash) == current.as_ref(),
            info,
        })
        .collect();
    let security = service::security_activity(&state, &user, 10)
        .await?
        .into_iter()
        .map(|e| (format_timestamp(e.created_at), describe(&e.action).to_owned(), e.ip))
        .collect();
    let personal_email = service::personal_email(&state, &user).await?.confirmed;
    render(&ProfilePage { page: viewer.page, user, sections, sessions, security, personal_email })
}

/// Audit actions in words a user understands.
fn describe(action: &str) -> &str {
    match action {
        "user.signup" => "Account created",
        "user.confirmed" => "Email address confirmed",
        "user.login" => "Signed in",
        "user.login_failed_burst" => "Many failed sign-in attempts",
        "user.password_changed" => "Password changed",
        "user.password_reset_requested" => "Password reset requested",
        "user.password_reset" => "Password reset",
        "user.email_change_requested" => "Email change requested",
        "user.email_changed" => "Email address changed",
        "user.personal_email_requested" => "Personal email address requested",
        "user.personal_email_confirmed" => "Personal email address added",
        "user.personal_email_removed" => "Personal email address removed",
        "user.profile_updated" => "Profile updated",
        "user.sessions_revoked" => "Sessions signed out",
        "admin.user_updated" => "Account changed by staff",
        "admin.password_reset_sent" => "Password reset sent by staff",
        other => other,
    }
}

/// Signs out one of my other sessions, or all of them (not this one).
pub async fn end_sessions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ClientIp(ip): ClientIp,
    session: Session,
    CsrfForm(form): CsrfForm<SessionForm>,
) -> Result<Response, AppError> {
    let which = (!form.session.is_empty()).then_some(form.session.as_str());
    let current = current_hash(&session);
    let ended = service::end_my_sessions(&state, &user, which, current.as_deref(), ip).await?;
    flash(&session, "success", format!("Signed out of {ended} other session(s).")).await?;
    Ok(Redirect::to("/accounts/profile/").into_response())
}

#[derive(Template)]
#[template(path = "accounts/profile_edit.html")]
struct EditPage {
    page: PageContext,
    form: NamesForm,
    errors: FieldErrors,
}

pub async fn edit_form(CurrentUser(user): CurrentUser, viewer: Viewer) -> Result<Response, AppError> {
    let form = NamesForm { first_name: user.first_name, last_name: user.last_name, nickname: user.nickname };
    render(&EditPage { page: viewer.page, form, errors: no_errors() })
}

pub async fn edit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    session: Session,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<NamesForm>,
) -> Result<Response, AppError> {
    let input = NamesInput {
        first_name: Some(form.first_name.clone()),
        last_name: Some(form.last_name.clone()),
        nickname: Some(form.nickname.clone()),
    };
    match service::update_names(&state, &user, input, ip).await {
        Ok(_) => {
            flash(&session, "success", "Your profile was saved.").await?;
            Ok(Redirect::to("/accounts/profile/").into_response())
        }
        Err(AccountsError::Invalid(errors)) => invalid(render(&EditPage { page: viewer.page, form, errors })),
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "accounts/email_change.html")]
struct EmailChangePage {
    page: PageContext,
    current: String,
    email: String,
    errors: FieldErrors,
}

pub async fn email_change_form(CurrentUser(user): CurrentUser, viewer: Viewer) -> Result<Response, AppError> {
    render(&EmailChangePage { page: viewer.page, current: user.email, email: String::new(), errors: no_errors() })
}

pub async fn email_change(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    session: Session,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<ChangeEmailForm>,
) -> Result<Response, AppError> {
    match service::request_email_change(&state, &user, &form.email, &Password::new(form.password), ip).await {
        Ok(()) => {
            let text = "We sent a confirmation link to your new address. Your email changes when you open it.";
            flash(&session, "info", text).await?;
            Ok(Redirect::to("/accounts/profile/").into_response())
        }
        Err(AccountsError::Invalid(errors)) => {
            invalid(render(&EmailChangePage { page: viewer.page, current: user.email, email: form.email, errors }))
        }
        Err(other) => Err(other.into()),
    }
}

const EMAIL_LINK: LinkTexts = LinkTexts {
    title: "Confirm your new email address",
    text: "Confirm to start using this address for your account.",
    button: "Confirm my new address",
    done_title: "Your email address was changed",
    done_text: "From now on we will write to your new address.",
    done_link: ("Go to my profile", "/accounts/profile/"),
    retry_text: "You can ask for a new link from your profile.",
    retry_link: None,
};

pub async fn email_confirm_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    link_page(&state, viewer.page, &token, &EMAIL_LINK).await
}

pub async fn email_confirm(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    link_outcome(viewer.page, service::confirm_email_change(&state, &token, ip).await, &EMAIL_LINK)
}

#[derive(Template)]
#[template(path = "accounts/delete.html")]
struct DeletePage {
    page: PageContext,
    errors: FieldErrors,
}

pub async fn delete_form(CurrentUser(_): CurrentUser, viewer: Viewer) -> Result<Response, AppError> {
    render(&DeletePage { page: viewer.page, errors: no_errors() })
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(sections): Extension<UserSections>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    session: Session,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    match service::delete_account(&state, &sections, &user, &Password::new(form.password), ip).await {
        Ok(()) => {
            session.flush().await?;
            let page = PageContext { user: None, ..viewer.page };
            message_page(
                page,
                "Your account was deleted",
                &[
                    "Your personal data is gone; your posts stay, without your name. We sent you a last email to confirm it.",
                ],
                None,
            )
        }
        Err(AccountsError::Invalid(errors)) => invalid(render(&DeletePage { page: viewer.page, errors })),
        Err(other) => Err(other.into()),
    }
}
