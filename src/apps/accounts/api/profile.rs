//! JSON endpoints for a signed-in user's own account, and the staff user list.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::{Details, details};
use crate::apps::accounts::extract::{CurrentUser, StaffUser, refresh_session};
use crate::apps::accounts::model::User;
use crate::apps::accounts::service::{self, NamesInput};
use crate::kernel::AppState;
use crate::kernel::http::{ApiJson, AppError, ClientIp, FieldErrors};
use crate::kernel::security::password::Password;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/profile/", get(get_profile).patch(update_profile))
        .route("/api/change-email/", post(change_email))
        .route("/api/confirm-email/{token}", post(confirm_email))
        .route("/api/confirm-email/{token}/", post(confirm_email))
        .route("/api/change-password/", post(change_password))
        .route("/api/delete-account/", post(delete_account))
        .route("/api/export/", get(export))
        .route("/api/users/", get(list_users))
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProfileResponse {
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    nickname: String,
    is_staff: bool,
    date_joined: i64,
    last_login: Option<i64>,
}

impl From<User> for ProfileResponse {
    fn from(u: User) -> Self {
        Self {
            username: u.username,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            nickname: u.nickname,
            is_staff: u.is_staff,
            date_joined: u.date_joined,
            last_login: u.last_login,
        }
    }
}

async fn get_profile(CurrentUser(user): CurrentUser) -> Json<ProfileResponse> {
    Json(user.into())
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct UpdateProfileRequest {
    first_name: Option<String>,
    last_name: Option<String>,
    nickname: Option<String>,
}

async fn update_profile(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<UpdateProfileRequest>,
) -> Result<Json<ProfileResponse>, AppError> {
    let input = NamesInput { first_name: req.first_name, last_name: req.last_name, nickname: req.nickname };
    let names = service::update_names(&state, &user, input).await?;
    Ok(Json(User { first_name: names.first_name, last_name: names.last_name, nickname: names.nickname, ..user }.into()))
}

fn required(value: Option<String>, field: &'static str) -> Result<String, AppError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AppError::Invalid(FieldErrors::single(field, "This field is required.")))
}

#[derive(Deserialize)]
pub struct ChangeEmailRequest {
    email: Option<String>,
    password: Option<String>,
}

async fn change_email(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<ChangeEmailRequest>,
) -> Result<Json<Details>, AppError> {
    let password = Password::new(required(req.password, "password")?);
    service::request_email_change(&state, &user, &required(req.email, "email")?, &password).await?;
    Ok(details("We sent a confirmation link to the new address."))
}

async fn confirm_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Result<Json<Details>, AppError> {
    service::confirm_email_change(&state, &token, ip).await?;
    Ok(details("Email address successfully changed."))
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ChangePasswordRequest {
    current_password: Option<String>,
    new_password: Option<String>,
}

async fn change_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<Json<Details>, AppError> {
    let current = Password::new(required(req.current_password, "current_password")?);
    let new = Password::new(required(req.new_password, "new_password")?);
    let hash = service::change_password(&state, &user, &current, &new).await?;
    refresh_session(&state, &session, &User { password_hash: hash, ..user }).await?;
    Ok(details("Password successfully changed."))
}

#[derive(Deserialize)]
pub struct DeleteAccountRequest {
    password: Option<String>,
}

async fn delete_account(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
    ApiJson(req): ApiJson<DeleteAccountRequest>,
) -> Result<Json<Details>, AppError> {
    let password = Password::new(required(req.password, "password")?);
    service::delete_account(&state, &user, &password).await?;
    session.flush().await?;
    Ok(details("Account deleted."))
}

/// All of my data, as a file download.
async fn export(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Result<impl IntoResponse, AppError> {
    let data = service::export_account(&state, &user).await?;
    let disposition = "attachment; filename=\"shoestring-account.json\"";
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(data)))
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

#[derive(Serialize)]
pub struct UserListResponse {
    count: i64,
    page: i64,
    results: Vec<UserSummary>,
}

#[derive(Serialize)]
pub struct UserSummary {
    id: i64,
    username: String,
    email: String,
    is_active: bool,
    is_staff: bool,
    date_joined: i64,
    last_login: Option<i64>,
}

async fn list_users(
    State(state): State<AppState>,
    StaffUser(_): StaffUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<UserListResponse>, AppError> {
    let page = query.page.unwrap_or(1).max(1);
    let found = service::list_users(&state, &query.q, page).await?;
    let results = found
        .users
        .into_iter()
        .map(|u| UserSummary {
            id: u.id,
            username: u.username,
            email: u.email,
            is_active: u.is_active,
            is_staff: u.is_staff,
            date_joined: u.date_joined,
            last_login: u.last_login,
        })
        .collect();
    Ok(Json(UserListResponse { count: found.total, page, results }))
}
