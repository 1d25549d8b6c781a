//! The JSON API. Paths, methods, keys and the `details` message match the playbook's browser
//! client, so it works against Shoestring unchanged; every error is a 4xx JSON body.

mod profile;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::extract::{MaybeUser, start_session};
use super::service::{self, LoginAttempt, SignupInput};
use crate::kernel::AppState;
use crate::kernel::http::{ApiJson, AppError, ClientIp};
use crate::kernel::security::password::Password;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/session/", get(session_info))
        .route("/api/whoami/", post(session_info))
        .route("/api/login/", post(login))
        .route("/api/logout/", post(logout))
        .route("/api/create-account/", post(create_account))
        .route("/api/activate-account/{token}", post(activate_account))
        .route("/api/activate-account/{token}/", post(activate_account))
        .route("/api/resend-confirmation/", post(resend_confirmation))
        .route("/api/recover-password/", post(recover_password))
        .route("/api/update-password/", post(update_password))
        .merge(profile::router())
}

#[derive(Serialize)]
pub struct Details {
    details: &'static str,
}

fn details(message: &'static str) -> Json<Details> {
    Json(Details { details: message })
}

#[derive(Serialize)]
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
async fn session_info(MaybeUser(user): MaybeUser) -> Json<SessionResponse> {
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

#[derive(Deserialize)]
pub struct LoginRequest {
    username: Option<String>,
    password: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<Details>, AppError> {
    let (Some(login), Some(password)) = (req.username, req.password) else {
        return Err(AppError::BadRequest("Please provide username and password.".into()));
    };
    let user = service::authenticate(&state, LoginAttempt { login, password: Password::new(password) }, ip).await?;
    start_session(&state, &session, &user).await?;
    Ok(details("Successfully logged in."))
}

async fn logout(session: Session, MaybeUser(user): MaybeUser) -> Result<Json<Details>, AppError> {
    let Some(user) = user else {
        return Err(AppError::BadRequest("You are not logged in.".into()));
    };
    session.flush().await?;
    tracing::info!(event = "logout", user_id = user.id, "logged out");
    Ok(details("Successfully logged out."))
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CreateAccountRequest {
    username: Option<String>,
    email: Option<String>,
    password: Option<String>,
    nickname: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

async fn create_account(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<CreateAccountRequest>,
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

async fn activate_account(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Result<Json<Details>, AppError> {
    service::confirm_account(&state, &token, ip).await?;
    Ok(details("Account successfully activated."))
}

#[derive(Deserialize)]
pub struct EmailRequest {
    email: Option<String>,
}

async fn resend_confirmation(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<EmailRequest>,
) -> Result<Json<Details>, AppError> {
    service::resend_confirmation(&state, req.email.as_deref().unwrap_or(""), ip).await?;
    Ok(details("If that address waits for confirmation, we sent a new link."))
}

/// Always the same answer, whether or not the address has an account.
async fn recover_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<EmailRequest>,
) -> Result<Json<Details>, AppError> {
    service::request_password_reset(&state, req.email.as_deref().unwrap_or(""), ip).await?;
    Ok(details("Email sent."))
}

#[derive(Deserialize)]
pub struct UpdatePasswordRequest {
    #[serde(rename = "email-token")]
    email_token: Option<String>,
    password: Option<String>,
}

async fn update_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<UpdatePasswordRequest>,
) -> Result<Json<Details>, AppError> {
    let (Some(token), Some(password)) = (req.email_token, req.password) else {
        return Err(AppError::BadRequest("Please provide email-token and password.".into()));
    };
    service::reset_password(&state, &token, &Password::new(password), ip).await?;
    Ok(details("Password successfully updated."))
}
