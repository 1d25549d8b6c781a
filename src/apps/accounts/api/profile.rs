//! JSON endpoints for a signed-in user's own account, and the staff user list.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Details, details};
use crate::apps::accounts::extract::{CurrentUser, StaffUser, refresh_session};
use crate::apps::accounts::model::User;
use crate::apps::accounts::sections::UserSections;
use crate::apps::accounts::service::{self, NamesInput};
use crate::apps::accounts::store::UserFilter;
use crate::kernel::AppState;
use crate::kernel::http::{ApiJson, AppError, ClientIp, ErrorBody};
use crate::kernel::pagination::PageRequest;
use crate::kernel::security::password::Password;
use crate::kernel::session::current_hash;
use crate::kernel::validation::FieldErrors;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_profile, update_profile))
        .routes(routes!(change_email))
        .routes(routes!(confirm_email))
        .routes(routes!(confirm_email_slash))
        .routes(routes!(change_password))
        .routes(routes!(delete_account))
        .routes(routes!(export))
        .routes(routes!(list_users))
        .routes(routes!(list_sessions))
        .routes(routes!(end_sessions))
        .routes(routes!(security_activity))
}

#[derive(Serialize, ToSchema)]
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

/// My account.
#[utoipa::path(get, path = "/api/profile/", tag = "profile",
    responses((status = 200, body = ProfileResponse), (status = 401, body = ErrorBody)))]
async fn get_profile(CurrentUser(user): CurrentUser) -> Json<ProfileResponse> {
    Json(user.into())
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct UpdateProfileRequest {
    first_name: Option<String>,
    last_name: Option<String>,
    nickname: Option<String>,
}

/// Change my names and nickname (fields left out keep their value).
#[utoipa::path(patch, path = "/api/profile/", tag = "profile", request_body = UpdateProfileRequest,
    responses((status = 200, body = ProfileResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn update_profile(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<UpdateProfileRequest>,
) -> Result<Json<ProfileResponse>, AppError> {
    let input = NamesInput { first_name: req.first_name, last_name: req.last_name, nickname: req.nickname };
    let names = service::update_names(&state, &user, input, ip).await?;
    Ok(Json(User { first_name: names.first_name, last_name: names.last_name, nickname: names.nickname, ..user }.into()))
}

fn required(value: Option<String>, field: &'static str) -> Result<String, AppError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AppError::Invalid(FieldErrors::single(field, "This field is required.")))
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeEmailRequest {
    email: Option<String>,
    password: Option<String>,
}

/// Ask to change my email address: a link goes to the new address.
#[utoipa::path(post, path = "/api/change-email/", tag = "profile", request_body = ChangeEmailRequest,
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn change_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<ChangeEmailRequest>,
) -> Result<Json<Details>, AppError> {
    let password = Password::new(required(req.password, "password")?);
    service::request_email_change(&state, &user, &required(req.email, "email")?, &password, ip).await?;
    Ok(details("We sent a confirmation link to the new address."))
}

/// Confirm a new email address with the token sent to it.
#[utoipa::path(post, path = "/api/confirm-email/{token}", tag = "profile", params(("token" = String, Path)),
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn confirm_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Result<Json<Details>, AppError> {
    service::confirm_email_change(&state, &token, ip).await?;
    Ok(details("Email address successfully changed."))
}

/// The same, with a trailing slash.
#[utoipa::path(post, path = "/api/confirm-email/{token}/", tag = "profile", params(("token" = String, Path)),
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn confirm_email_slash(
    state: State<AppState>,
    ip: ClientIp,
    token: Path<String>,
) -> Result<Json<Details>, AppError> {
    confirm_email(state, ip, token).await
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub struct ChangePasswordRequest {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// Change my password (needs the current one); my other sessions end.
#[utoipa::path(post, path = "/api/change-password/", tag = "profile", request_body = ChangePasswordRequest,
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    session: Session,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<Json<Details>, AppError> {
    let current = Password::new(required(req.current_password, "current_password")?);
    let new = Password::new(required(req.new_password, "new_password")?);
    let hash = service::change_password(&state, &user, &current, &new, current_hash(&session).as_deref(), ip).await?;
    refresh_session(&state, &session, &User { password_hash: hash, ..user }).await?;
    Ok(details("Password successfully changed."))
}

#[derive(Deserialize, ToSchema)]
pub struct DeleteAccountRequest {
    password: Option<String>,
}

/// Delete my account and personal data (needs the password); my posts stay, without an author.
#[utoipa::path(post, path = "/api/delete-account/", tag = "profile", request_body = DeleteAccountRequest,
    responses((status = 200, body = Details), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn delete_account(
    State(state): State<AppState>,
    Extension(sections): Extension<UserSections>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    session: Session,
    ApiJson(req): ApiJson<DeleteAccountRequest>,
) -> Result<Json<Details>, AppError> {
    let password = Password::new(required(req.password, "password")?);
    service::delete_account(&state, &sections, &user, &password, ip).await?;
    session.flush().await?;
    Ok(details("Account deleted."))
}

/// All of my data, as a file download.
#[utoipa::path(get, path = "/api/export/", tag = "profile",
    responses((status = 200, description = "The account data as a JSON file"), (status = 401, body = ErrorBody)))]
async fn export(
    State(state): State<AppState>,
    Extension(sections): Extension<UserSections>,
    CurrentUser(user): CurrentUser,
) -> Result<impl IntoResponse, AppError> {
    let data = service::export_account(&state, &sections, &user).await?;
    let disposition = "attachment; filename=\"shoestring-account.json\"";
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(data)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Text to find in username, email or names.
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct UserListResponse {
    count: i64,
    page: i64,
    results: Vec<UserSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct UserSummary {
    id: i64,
    username: String,
    email: String,
    is_active: bool,
    is_staff: bool,
    date_joined: i64,
    last_login: Option<i64>,
}

/// Staff only: users, newest first, 25 a page.
#[utoipa::path(get, path = "/api/users/", tag = "staff", params(ListQuery),
    responses((status = 200, body = UserListResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    _staff: StaffUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<UserListResponse>, AppError> {
    let page = PageRequest::new(query.page, service::USERS_PER_PAGE);
    let filter = UserFilter { search: query.q.clone(), ..UserFilter::default() };
    let found = service::list_users(&state, &filter, page, true).await?;
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
    Ok(Json(UserListResponse { count: found.total.unwrap_or(0), page: page.number, results }))
}

#[derive(Serialize, ToSchema)]
pub struct SignedInSession {
    /// Names the session (a hash of its id; the id itself never leaves the cookie).
    id: String,
    created_at: i64,
    last_seen_at: i64,
    ip: String,
    user_agent: String,
    /// The session making this request.
    current: bool,
}

/// Where I am signed in.
#[utoipa::path(get, path = "/api/sessions/", tag = "profile",
    responses((status = 200, body = Vec<SignedInSession>), (status = 401, body = ErrorBody)))]
async fn list_sessions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    session: Session,
) -> Result<Json<Vec<SignedInSession>>, AppError> {
    let current = current_hash(&session);
    let sessions = service::user_sessions(&state, user.id).await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|s| SignedInSession {
                current: Some(&s.id_hash) == current.as_ref(),
                id: s.id_hash,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct EndSessionsRequest {
    /// One session's `id`; leave it out to end every session but this one.
    session: Option<String>,
}

/// Sign out one of my other sessions, or all of them.
#[utoipa::path(post, path = "/api/sessions/end/", tag = "profile", request_body = EndSessionsRequest,
    responses((status = 200, body = Details), (status = 401, body = ErrorBody)))]
async fn end_sessions(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    CurrentUser(user): CurrentUser,
    session: Session,
    ApiJson(req): ApiJson<EndSessionsRequest>,
) -> Result<Json<Details>, AppError> {
    let current = current_hash(&session);
    service::end_my_sessions(&state, &user, req.session.as_deref(), current.as_deref(), ip).await?;
    Ok(details("Signed out."))
}

#[derive(Serialize, ToSchema)]
pub struct ActivityResponse {
    action: String,
    at: i64,
    ip: String,
}

/// The latest security events on my account.
#[utoipa::path(get, path = "/api/security-activity/", tag = "profile",
    responses((status = 200, body = Vec<ActivityResponse>), (status = 401, body = ErrorBody)))]
async fn security_activity(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Vec<ActivityResponse>>, AppError> {
    let entries = service::security_activity(&state, &user, 50).await?;
    Ok(Json(entries.into_iter().map(|e| ActivityResponse { action: e.action, at: e.created_at, ip: e.ip }).collect()))
}
