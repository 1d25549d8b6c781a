//! The staff console at `/admin/`: dashboard, users (search, filters, edits, sessions, bulk
//! actions), posts, badges and questions (their pages come from those apps), and the audit trail.
//! Staff only — by handler type (`StaffUser`) and by a guard on the whole router — and, with
//! `ADMIN_HOST`, only on that host.

mod chart;
mod forms;
mod pages;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::accounts::MaybeUser;
use crate::kernel::AppState;
use crate::kernel::config::strip_port;
use crate::kernel::http::AppError;

pub fn router(state: &AppState) -> Router<AppState> {
    let sign_in = Router::new()
        .route("/admin/login/", get(pages::login::login_form).post(pages::login::login))
        .route("/admin/logout/", post(pages::login::logout))
        .route_layer(middleware::from_fn_with_state(state.clone(), admin_host_only));
    pages::router(state)
        .merge(super::badges::console_router(state))
        .merge(super::questions::console_router())
        .route_layer(middleware::from_fn_with_state(state.clone(), guard))
        .merge(sign_in)
}

/// Every console request: on the admin host (when one is set), from signed-in staff. Anyone
/// else is sent to the console's own login page, and back to the page they asked for after.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !on_admin_host(&state, &req) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let (mut parts, body) = req.into_parts();
    match MaybeUser::from_request_parts(&mut parts, &state).await {
        Ok(MaybeUser(None)) => {
            let query = serde_urlencoded::to_string([("next", parts.uri.path())]).unwrap_or_default();
            Redirect::to(&format!("/admin/login/?{query}")).into_response()
        }
        Ok(MaybeUser(Some(user))) if !user.is_staff => {
            tracing::warn!(event = "authz_denied", "console refused to a member");
            AppError::Forbidden.into_response()
        }
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(err) => err.into_response(),
    }
}

/// The console's login and logout answer only on the admin host, too.
async fn admin_host_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if on_admin_host(&state, &req) { next.run(req).await } else { StatusCode::NOT_FOUND.into_response() }
}

fn on_admin_host(state: &AppState, req: &Request) -> bool {
    let Some(admin_host) = &state.settings.admin_host else { return true };
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(strip_port).unwrap_or("");
    host.eq_ignore_ascii_case(strip_port(admin_host.trim()))
}
