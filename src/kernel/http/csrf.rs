//! CSRF defence in two parts. Every unsafe request must come from our own origin
//! (tower-http's `CsrfLayer`: Sec-Fetch-Site, then Origin vs Host). HTML forms also carry a
//! token equal to the `csrftoken` cookie, the cookie Django's clients read for `X-CSRFToken`;
//! a JSON request that sends that header must match it too.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

use super::error::AppError;
use crate::kernel::AppState;
use crate::kernel::security::token::{looks_like_token, random_token};

pub const CSRF_COOKIE: &str = "csrftoken";

/// The visitor's CSRF token, put in every form as `csrf_token`.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// Gives every visitor a `csrftoken` cookie and checks `X-CSRFToken` when a request sends one.
pub async fn csrf_cookie(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let existing = cookie_value(req.headers(), CSRF_COOKIE).filter(|v| looks_like_token(v));
    let is_new = existing.is_none();
    let token = existing.unwrap_or_else(random_token);

    if let Some(sent) = req.headers().get("x-csrftoken") {
        let ok = !is_new && bool::from(sent.as_bytes().ct_eq(token.as_bytes()));
        if !ok && !req.method().is_safe() {
            tracing::warn!(event = "csrf_rejected", "X-CSRFToken does not match the cookie");
            return AppError::Forbidden.into_response();
        }
    }

    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(req).await;
    if is_new {
        let cookie = Cookie::build((CSRF_COOKIE, token))
            .path("/")
            .same_site(SameSite::Lax)
            .secure(state.settings.is_production())
            .max_age(cookie::time::Duration::days(365))
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The value of cookie `name` in the request's Cookie headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}
