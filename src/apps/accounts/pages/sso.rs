//! Single sign-on pages: the button's POST sends the browser on to the provider (by `Refresh`)
//! with state, nonce and a PKCE challenge kept in this session; the callback checks state and `iss`, has the code
//! traded and the ID token verified, and signs the person in. Every failure is a page that says
//! what happened (never a 500). Also the break-glass link's confirm page and its POST.

use axum::Extension;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::{LinkTexts, link_outcome, link_page, message_page};
use crate::apps::accounts::extract::{Origin, Viewer, start_session};
use crate::apps::accounts::forms::{ButtonForm, NextQuery};
use crate::apps::accounts::service::{self, AccountsError, SsoError};
use crate::apps::accounts::sso::{ProviderError, SsoClient, SsoConfig, profile_from};
use crate::kernel::AppState;
use crate::kernel::http::redirect::safe_next;
use crate::kernel::http::{AppError, CsrfForm, PageContext};

const FLOW_KEY: &str = "sso_flow";
/// A sign-in left at the provider longer than this starts again.
const FLOW_TTL_SECS: i64 = 600;
const HOME: &str = "/accounts/profile/";

/// What the callback must find again in the session that started the login.
#[derive(Debug, Deserialize, Serialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    started_at: i64,
}

/// The provider's redirect back (RFC 6749 §4.1.2, RFC 9207 `iss`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CallbackQuery {
    code: String,
    state: String,
    iss: Option<String>,
    error: Option<String>,
}

fn config(state: &AppState) -> Result<SsoConfig, AppError> {
    SsoConfig::from_settings(&state.settings).ok_or(AppError::NotFound)
}

/// The sign-in button: to the provider, with a fresh state, nonce and PKCE pair.
pub async fn sso_start(
    State(state): State<AppState>,
    Extension(client): Extension<SsoClient>,
    session: Session,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<NextQuery>,
) -> Result<Response, AppError> {
    let config = config(&state)?;
    let start = match client.start(&config).await {
        Ok(start) => start,
        Err(err) => return failure_page(viewer.page, Failure::Provider(err)),
    };
    let next = safe_next(&form.next, HOME).to_owned();
    let flow =
        Flow { state: start.state, nonce: start.nonce, verifier: start.verifier, next, started_at: state.clock.now() };
    session.insert(FLOW_KEY, flow).await?;
    to_provider(viewer.page, &start.url)
}

/// A page that sends the browser on to the provider (a `Refresh`, and a link for the rest): the
/// pages' CSP `form-action 'self'` blocks a form POST that redirects to another origin.
fn to_provider(page: PageContext, url: &str) -> Result<Response, AppError> {
    let mut response = message_page(
        page,
        "Signing you in…",
        &["Taking you to your company's sign-in page."],
        Some(("Continue", url)),
    )?;
    let refresh = HeaderValue::from_str(&format!("0;url={url}")).map_err(|e| AppError::Internal(e.into()))?;
    response.headers_mut().insert(HeaderName::from_static("refresh"), refresh);
    Ok(response)
}

/// The provider's redirect back: checks, code exchange, ID token, account rules, session.
pub async fn sso_callback(
    State(state): State<AppState>,
    Extension(client): Extension<SsoClient>,
    session: Session,
    origin: Origin,
    viewer: Viewer,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let config = config(&state)?;
    // Taken out at once: a replayed callback finds no flow.
    let flow: Option<Flow> = session.remove(FLOW_KEY).await?;
    let flow = match check_callback(&state, &client, &config, flow, &query).await {
        Ok(flow) => flow,
        Err(failure) => return failure_page(viewer.page, failure),
    };
    let token = match client.finish(&config, query.code, flow.verifier, &flow.nonce, state.clock.now()).await {
        Ok(token) => token,
        Err(err) => return failure_page(viewer.page, Failure::Provider(err)),
    };
    let profile = profile_from(&config, token);
    match service::sso_login(&state, &config, &profile, origin.ip).await {
        Ok(user) => {
            start_session(&state, &session, &user, &origin).await?;
            Ok(Redirect::to(safe_next(&flow.next, HOME)).into_response())
        }
        Err(SsoError::Internal(err)) => Err(AppError::Internal(err)),
        Err(err) => failure_page(viewer.page, Failure::Account(err)),
    }
}

/// Everything checked before the code is traded: a live flow, its state, the provider's answer.
async fn check_callback(
    state: &AppState,
    client: &SsoClient,
    config: &SsoConfig,
    flow: Option<Flow>,
    query: &CallbackQuery,
) -> Result<Flow, Failure> {
    let flow = flow.filter(|f| state.clock.now() - f.started_at < FLOW_TTL_SECS).ok_or(Failure::NoFlow)?;
    if !bool::from(flow.state.as_bytes().ct_eq(query.state.as_bytes())) {
        return Err(Failure::Unverified("state"));
    }
    if let Some(error) = &query.error {
        return Err(Failure::Refused(
            error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect(),
        ));
    }
    match &query.iss {
        Some(iss) if iss.trim_end_matches('/') != config.issuer => return Err(Failure::Unverified("iss")),
        None if client.sends_iss(config).await.map_err(Failure::Provider)? => return Err(Failure::Unverified("iss")),
        _ => {}
    }
    if query.code.is_empty() {
        return Err(Failure::Unverified("code"));
    }
    Ok(flow)
}

/// Why a single sign-on did not sign anyone in.
enum Failure {
    NoFlow,
    Unverified(&'static str),
    Refused(String),
    Provider(ProviderError),
    Account(SsoError),
}

fn failure_page(page: PageContext, failure: Failure) -> Result<Response, AppError> {
    let login = Some(("Back to login", "/accounts/login/"));
    let (status, title, text): (StatusCode, &str, String) = match &failure {
        Failure::NoFlow => (
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "It was already used, or it was started too long ago. Start again.".into(),
        ),
        Failure::Unverified(_) | Failure::Provider(ProviderError::BadToken(_)) => (
            StatusCode::BAD_REQUEST,
            "This sign-in could not be verified",
            "The answer from the identity provider did not match this sign-in. Start again.".into(),
        ),
        Failure::Refused(code) if code == "access_denied" => (
            StatusCode::FORBIDDEN,
            "Sign-in was cancelled",
            "The identity provider says the sign-in was not allowed.".into(),
        ),
        Failure::Refused(code) => (
            StatusCode::BAD_REQUEST,
            "The identity provider refused the sign-in",
            format!("It answered “{code}”. Start again, or ask staff if it goes on."),
        ),
        Failure::Provider(ProviderError::Unreachable(_)) => (
            StatusCode::BAD_GATEWAY,
            "The sign-in service is not answering",
            "Try again in a few minutes. If it goes on, tell staff.".into(),
        ),
        Failure::Provider(ProviderError::CodeRefused(_)) => (
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "The identity provider no longer accepts it. Start again.".into(),
        ),
        Failure::Account(err) => account_failure(err),
    };
    log_failure(&failure);
    let mut response = message_page(page, title, &[&text], login)?;
    *response.status_mut() = status;
    Ok(response)
}

fn account_failure(err: &SsoError) -> (StatusCode, &'static str, String) {
    let (status, title, text) = match err {
        SsoError::NoEmail => (
            StatusCode::BAD_REQUEST,
            "No email address",
            "Your identity provider did not share an email address, which an account needs.",
        ),
        SsoError::DomainNotAllowed => {
            (StatusCode::FORBIDDEN, "This address may not sign in here", "Sign in with your company account.")
        }
        SsoError::EmailTaken => (
            StatusCode::FORBIDDEN,
            "This email address belongs to another account",
            "Your identity provider did not confirm this address, or that account's address is not confirmed, so they were not linked. Ask staff for help.",
        ),
        SsoError::NewUsersRefused => {
            (StatusCode::FORBIDDEN, "You have no account here yet", "Ask staff to create your account.")
        }
        SsoError::Inactive | SsoError::Internal(_) => {
            (StatusCode::FORBIDDEN, "This account is disabled", "Ask staff for help.")
        }
    };
    (status, title, text.to_owned())
}

fn log_failure(failure: &Failure) {
    let reason = match failure {
        Failure::NoFlow => "no_flow".to_owned(),
        Failure::Unverified(what) => format!("bad_{what}"),
        Failure::Refused(code) => format!("provider_error:{code}"),
        Failure::Provider(err) => err.to_string(),
        Failure::Account(err) => err.to_string(),
    };
    tracing::warn!(event = "sso_failed", reason = %reason, "single sign-on refused");
}

const BREAK_GLASS: LinkTexts = LinkTexts {
    title: "Staff sign-in",
    text: "This one-time link signs a staff member in without single sign-on.",
    button: "Sign in",
    done_title: "Signed in",
    done_text: "",
    done_link: ("Console", "/admin/"),
    retry_text: "Ask for a new link on the server: shoestring break-glass --username <you>.",
    retry_link: None,
};

pub async fn break_glass_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    link_page(&state, viewer.page, &token, &BREAK_GLASS).await
}

pub async fn break_glass(
    State(state): State<AppState>,
    session: Session,
    origin: Origin,
    viewer: Viewer,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<ButtonForm>,
) -> Result<Response, AppError> {
    match service::use_break_glass(&state, &token, origin.ip).await {
        Ok(user) => {
            start_session(&state, &session, &user, &origin).await?;
            Ok(Redirect::to("/admin/").into_response())
        }
        Err(err @ (AccountsError::InvalidToken | AccountsError::Invalid(_))) => {
            link_outcome(viewer.page, Err(err), &BREAK_GLASS)
        }
        Err(other) => Err(other.into()),
    }
}

/// With `SSO_ONLY`, every password route (pages and API) answers 404: no password login,
/// sign-up, confirmation or reset; single sign-on and break-glass links remain.
pub async fn sso_only_gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.settings.sso_only && is_password_route(req.uri().path(), req.method() == axum::http::Method::POST) {
        return AppError::NotFound.into_response();
    }
    next.run(req).await
}

fn is_password_route(path: &str, is_post: bool) -> bool {
    const PREFIXES: [&str; 14] = [
        "/accounts/signup/",
        "/accounts/confirm/",
        "/accounts/resend/",
        "/accounts/password/",
        "/accounts/password-reset/",
        "/api/login/",
        "/api/create-account/",
        "/api/activate-account/",
        "/api/resend-confirmation/",
        "/api/recover-password/",
        "/api/update-password/",
        "/api/change-password/",
        "/api/change-email/",
        "/accounts/email/",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p)) || (is_post && path == "/accounts/login/")
}
