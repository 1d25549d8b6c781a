//! Who is asking, by type: `CurrentUser` (signed in), `StaffUser` (signed-in staff),
//! `MaybeUser`, and `Viewer` (what a page's layout needs). A session counts only while its user
//! is active, its password fingerprint still matches (a password change ends other sessions)
//! and it is younger than the absolute lifetime.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::model::User;
use super::service;
use crate::kernel::AppState;
use crate::kernel::http::csrf::CsrfToken;
use crate::kernel::http::failure::RequestUser;
use crate::kernel::http::render::{NavUser, take_flashes};
use crate::kernel::http::{AppError, PageContext};
use crate::kernel::security::token::{hex, hmac_sha256};
use crate::kernel::session::{IP_KEY, SEEN_AT_KEY, USER_AGENT_KEY, USER_ID_KEY, current_hash, decode_data};

const AUTH_HASH_KEY: &str = "auth_hash";
const LOGIN_AT_KEY: &str = "login_at";
/// Idle expiry is pushed forward at most once a minute, to spare a write per request.
const TOUCH_EVERY_SECS: i64 = 60;

/// Ties a session to the password it was opened with.
fn fingerprint(state: &AppState, user: &User) -> String {
    hex(&hmac_sha256(state.settings.secret_key.expose(), format!("session:{}", user.password_hash).as_bytes())[..16])
}

/// Where a session signs in from, for "where you're signed in".
#[derive(Debug, Clone)]
pub struct Origin {
    pub ip: std::net::IpAddr,
    pub user_agent: String,
}

/// Signs whoever is signed in out of this session (its row goes too), logging who it was.
pub async fn end_session(session: &Session, user: Option<&User>) -> Result<(), AppError> {
    if let Some(user) = user {
        tracing::info!(event = "logout", user_id = user.id, "logged out");
    }
    session.flush().await?;
    Ok(())
}

/// Signs `user` in on this session, under a new session id (no fixation).
pub async fn start_session(state: &AppState, session: &Session, user: &User, origin: &Origin) -> Result<(), AppError> {
    session.cycle_id().await?;
    let now = state.clock.now();
    session.insert(USER_ID_KEY, user.id).await?;
    session.insert(IP_KEY, origin.ip.to_string()).await?;
    session.insert(USER_AGENT_KEY, &origin.user_agent).await?;
    session.insert(AUTH_HASH_KEY, fingerprint(state, user)).await?;
    session.insert(LOGIN_AT_KEY, now).await?;
    session.insert(SEEN_AT_KEY, now).await?;
    Ok(())
}

/// Keeps this session valid after the user's own password change, under a new id.
pub async fn refresh_session(state: &AppState, session: &Session, user: &User) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(AUTH_HASH_KEY, fingerprint(state, user)).await?;
    Ok(())
}

/// The session keys that decide whether a signed-in session still counts (field names are the
/// keys `start_session` writes).
#[derive(serde::Deserialize)]
struct SessionAuth {
    auth_hash: Option<String>,
    #[serde(default)]
    login_at: i64,
    #[serde(default)]
    seen_at: i64,
}

async fn session_user(state: &AppState, session: &Session) -> Result<Option<User>, AppError> {
    let Some(id_hash) = current_hash(session) else {
        return Ok(None);
    };
    let now = state.clock.now();
    // The session's data and its user in one query; the session layer loads the record itself
    // only when a handler reads or changes other keys.
    let Some((data, user)) = service::find_session_user(state, &id_hash, now).await? else {
        return Ok(None);
    };
    let auth: Option<SessionAuth> = decode_data(&data);
    let valid = auth.as_ref().is_some_and(|auth| {
        user.is_active
            && auth.auth_hash.as_deref() == Some(fingerprint(state, &user).as_str())
            && now < auth.login_at + state.settings.session_max_days * 86_400
    });
    let Some(auth) = auth.filter(|_| valid) else {
        session.flush().await?;
        return Ok(None);
    };
    if now - auth.seen_at >= TOUCH_EVERY_SECS {
        session.insert(SEEN_AT_KEY, now).await?;
    }
    Ok(Some(user))
}

/// The signed-in user, loaded once per request.
#[derive(Clone, Debug)]
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(cached) = parts.extensions.get::<MaybeUser>() {
            return Ok(cached.clone());
        }
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("session layer missing")))?;
        let found = MaybeUser(session_user(state, &session).await?);
        if let (Some(slot), Some(user)) = (parts.extensions.get::<RequestUser>(), &found.0) {
            slot.set(user.id);
        }
        parts.extensions.insert(found.clone());
        Ok(found)
    }
}

/// Why a user-only route refused: API callers get JSON, page visitors go to the login page.
#[derive(Debug)]
pub enum AuthRejection {
    Login { next: String, api: bool },
    Forbidden,
    Error(AppError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Login { api: true, .. } => AppError::Unauthorized.into_response(),
            AuthRejection::Login { next, api: false } => {
                let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
                Redirect::to(&format!("/accounts/login/?{query}")).into_response()
            }
            AuthRejection::Forbidden => {
                tracing::warn!(event = "authz_denied", "staff-only route refused");
                AppError::Forbidden.into_response()
            }
            AuthRejection::Error(err) => err.into_response(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await.map_err(AuthRejection::Error)?;
        user.map(CurrentUser).ok_or_else(|| AuthRejection::Login {
            next: parts.uri.path().to_owned(),
            api: parts.uri.path().starts_with("/api/"),
        })
    }
}

#[derive(Clone, Debug)]
pub struct StaffUser(pub User);

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if user.is_staff { Ok(StaffUser(user)) } else { Err(AuthRejection::Forbidden) }
    }
}

/// What a page's layout needs: CSRF token, the user (if any) and the flash messages.
#[derive(Debug)]
pub struct Viewer {
    pub user: Option<User>,
    pub page: PageContext,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("session layer missing")))?;
        let csrf_token = parts.extensions.get::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default();
        let page = PageContext {
            csrf_token,
            user: user.as_ref().map(|u| NavUser { username: u.username.clone(), is_staff: u.is_staff }),
            flashes: take_flashes(&session).await?,
            dev_tools: state.settings.outbox_enabled(),
            error_page: false,
            console: PageContext::is_console_path(parts.uri.path()),
        };
        Ok(Viewer { user, page })
    }
}

impl FromRequestParts<AppState> for Origin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let crate::kernel::http::ClientIp(ip) = crate::kernel::http::ClientIp::from_request_parts(parts, state).await?;
        let agent = parts.headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
        Ok(Origin { ip, user_agent: agent.chars().filter(|c| !c.is_control()).take(200).collect() })
    }
}
