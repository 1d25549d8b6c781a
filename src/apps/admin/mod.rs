//! The staff console at `/admin/`: dashboard, users (search, filters, edits, sessions, bulk
//! actions), posts, questions (their pages come from the questions app), and the audit trail.
//! Staff only — by handler type (`StaffUser`) and by a guard on the whole router — and, with
//! `ADMIN_HOST`, only on that host.

mod chart;
mod forms;
mod pages;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use super::accounts::StaffUser;
use crate::kernel::AppState;
use crate::kernel::config::strip_port;

pub fn router(state: &AppState) -> Router<AppState> {
    pages::router()
        .merge(super::questions::console_router())
        .route_layer(middleware::from_fn_with_state(state.clone(), guard))
}

/// Every console request: on the admin host (when one is set), from signed-in staff.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(admin_host) = &state.settings.admin_host {
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(strip_port).unwrap_or("");
        if !host.eq_ignore_ascii_case(strip_port(admin_host.trim())) {
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    let (mut parts, body) = req.into_parts();
    if let Err(rejection) = StaffUser::from_request_parts(&mut parts, &state).await {
        return rejection.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
