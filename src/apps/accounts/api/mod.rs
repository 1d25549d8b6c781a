//! The JSON API. Paths, methods, keys and the `details` message match the playbook's browser
//! client, so it works against Shoestring unchanged; every error is a JSON body (`{"details": …}`).

mod profile;

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{MaybeUser, Origin, Viewer, start_session};
use super::pages;
use super::service::{self, LoginAttempt, SignupInput};
use crate::kernel::AppState;
use crate::kernel::http::{AppError, ClientIp, CompatJson, CsrfForm, ErrorBody};
use crate::kernel::security::password::Password;

/// Every route here is in the OpenAPI document: `routes!` registers both at once.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(session_info))
        .routes(routes!(whoami))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(create_account))
        .routes(routes!(activate_account_page, activate_account))
        .routes(routes!(activate_account_slash_page, activate_account_slash))
        .routes(routes!(resend_confirmation))
        .routes(routes!(recover_password))
        .routes(routes!(update_password))
        .merge(profile::routes())
}

/// A message for people, in the key the playbook's client reads.
#[derive(Serialize, ToSchema)]
pub struct Details {
    details: &'static str,
}

fn details(message: &'static str) -> Json<Details> {
    Json(Details { details: message })
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct SessionResponse {
    authenticated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
}

/// Who is signed in. Also hands out the `csrftoken` cookie (every response does when missing).
#[utoipa::path(get, path = "/api/session/", tag = "accounts", responses((status = 200, body = SessionResponse)))]
async fn session_info(user: MaybeUser) -> Json<SessionResponse> {
    session_response(user)
}

/// The same as `GET /api/session/`, as a POST.
#[utoipa::path(post, path = "/api/whoami/", tag = "accounts", responses((status = 200, body = SessionResponse)))]
async fn whoami(user: MaybeUser) -> Json<SessionResponse> {
    session_response(user)
}

fn session_response(MaybeUser(user): MaybeUser) -> Json<SessionResponse> {
    Json(match user {
        Some(u) => SessionResponse {
            authenticated: true,
            username: Some(u.username),
            first_name: Some(u.first_name),
            last_name: Some(u.last_name),
        },
        None => SessionResponse { authenticated: false, username: None, first_name: None, last_name: None },
    })
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username or email address.
    username: Option<String>,
    password: Option<String>,
}

/// Log in (username or email, and password); sets the session cookie.
#[utoipa::path(post, path = "/api/login/", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    origin: Origin,
    session: Session,
    CompatJson(req): CompatJson<LoginRequest>,
) -> Result<Json<Details>, AppError> {
    let (Some(login), Some(password)) = (req.username, req.password) else {
        return Err(AppError::BadRequest("Please provide username and password.".into()));
    };
    let attempt = LoginAttempt { login, password: Password::new(password) };
    let user = service::authenticate(&state, attempt, origin.ip).await?;
    start_session(&state, &session, &user, &origin).await?;
    Ok(details("Successfully logged in."))
}

/// Log out: the session ends.
#[utoipa::path(post, path = "/api/logout/", tag = "accounts",
    responses((status = 200, body = Details), (status = 400, body = ErrorBody)))]
async fn logout(session: Session, MaybeUser(user): MaybeUser) -> Result<Json<Details>, AppError> {
    let Some(user) = user else {
        return Err(AppError::BadRequest("You are not logged in.".into()));
    };
    session.flush().await?;
    tracing::info!(event = "logout", user_id = user.id, "logged out");
    Ok(details("Successfully logged out."))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct CreateAccountRequest {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    nickname: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// Sign up. The account stays inactive until the emailed link is confirmed. A taken email
/// address gets the same answer (its owner is told by email).
#[utoipa::path(post, path = "/api/create-account/", tag = "accounts", request_body = CreateAccountRequest,
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn create_account(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CompatJson(req): CompatJson<CreateAccountRequest>,
) -> Result<Json<Details>, AppError> {
    let input = SignupInput {
        username: req.username,
        email: req.email,
        password: req.password.map(Password::new),
        first_name: req.first_name,
        last_name: req.last_name,
        nickname: req.nickname,
    };
    service::signup(&state, input, ip).await?;
    Ok(details("Successfully user created."))
}

/// The page a confirmation link opens when `CONFIRM_LINK` is the playbook's link shape
/// (`/api/activate-account/{token}`): a button whose POST activates. The GET changes nothing,
/// since mail scanners open links.
#[utoipa::path(get, path = "/api/activate-account/{token}", tag = "accounts", params(("token" = String, Path)),
    responses((status = 200, description = "The page with the confirm button", content_type = "text/html")))]
async fn activate_account_page(
    state: State<AppState>,
    viewer: Viewer,
    token: Path<String>,
) -> Result<Response, AppError> {
    pages::confirm_page(state, viewer, token).await
}

/// Activate an account with the token from the confirmation email. The page's button sends
/// the same request as a form, and gets the outcome as a page.
#[utoipa::path(post, path = "/api/activate-account/{token}", tag = "accounts", params(("token" = String, Path)),
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn activate_account(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
    req: Request,
) -> Result<Response, AppError> {
    if is_form(req.headers()) {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, &state).await?;
        let form = CsrfForm::from_request(Request::from_parts(parts, body), &state).await?;
        return pages::confirm(State(state), ClientIp(ip), viewer, Path(token), form).await;
    }
    service::confirm_account(&state, &token, ip).await?;
    Ok(details("Account successfully activated.").into_response())
}

/// The page, with a trailing slash.
#[utoipa::path(get, path = "/api/activate-account/{token}/", tag = "accounts", params(("token" = String, Path)),
    responses((status = 200, description = "The page with the confirm button", content_type = "text/html")))]
async fn activate_account_slash_page(
    state: State<AppState>,
    viewer: Viewer,
    token: Path<String>,
) -> Result<Response, AppError> {
    pages::confirm_page(state, viewer, token).await
}

/// The same, with a trailing slash.
#[utoipa::path(post, path = "/api/activate-account/{token}/", tag = "accounts", params(("token" = String, Path)),
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn activate_account_slash(
    state: State<AppState>,
    ip: ClientIp,
    token: Path<String>,
    req: Request,
) -> Result<Response, AppError> {
    activate_account(state, ip, token, req).await
}

fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

#[derive(Deserialize, ToSchema)]
pub struct EmailRequest {
    email: Option<String>,
}

/// Send a new confirmation link, if the address belongs to an unconfirmed account.
#[utoipa::path(post, path = "/api/resend-confirmation/", tag = "accounts", request_body = EmailRequest,
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn resend_confirmation(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CompatJson(req): CompatJson<EmailRequest>,
) -> Result<Json<Details>, AppError> {
    service::resend_confirmation(&state, req.email.as_deref().unwrap_or(""), ip).await?;
    Ok(details("If that address waits for confirmation, we sent a new link."))
}

/// Email a password-reset link. Always the same answer, whether or not the address has an account.
#[utoipa::path(post, path = "/api/recover-password/", tag = "accounts", request_body = EmailRequest,
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn recover_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CompatJson(req): CompatJson<EmailRequest>,
) -> Result<Json<Details>, AppError> {
    service::request_password_reset(&state, req.email.as_deref().unwrap_or(""), ip).await?;
    Ok(details("Email sent."))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdatePasswordRequest {
    #[serde(rename = "email-token")]
    email_token: Option<String>,
    password: Option<String>,
}

/// Set a new password with the token from the reset email; every session of the user ends.
#[utoipa::path(post, path = "/api/update-password/", tag = "accounts", request_body = UpdatePasswordRequest,
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn update_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CompatJson(req): CompatJson<UpdatePasswordRequest>,
) -> Result<Json<Details>, AppError> {
    let (Some(token), Some(password)) = (req.email_token, req.password) else {
        return Err(AppError::BadRequest("Please provide email-token and password.".into()));
    };
    service::reset_password(&state, &token, &Password::new(password), ip).await?;
    Ok(details("Password successfully updated."))
}
