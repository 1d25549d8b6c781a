//! CSRF defence in two parts. Every unsafe request must come from our own origin
//! (tower-http's `CsrfLayer`: Sec-Fetch-Site, then Origin vs Host). HTML forms also carry a
//! token equal to the `csrftoken` cookie, the cookie Django's clients read for `X-CSRFToken`;
//! a JSON request that sends that header must match it too.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use futures_util::future::{Either, Ready, ready};
use pin_project_lite::pin_project;
use subtle::ConstantTimeEq;
use tower::{Layer, Service};

use super::error::AppError;
use crate::kernel::security::token::{looks_like_token, random_token};

pub const CSRF_COOKIE: &str = "csrftoken";

/// The visitor's CSRF token, put in every form as `csrf_token`.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// Gives every visitor a `csrftoken` cookie and checks `X-CSRFToken` when a request sends one.
/// A plain tower service, not a `from_fn` middleware (which clones and boxes the services
/// beneath it on every request; BENCHMARKS.md).
#[derive(Clone, Copy)]
pub struct CsrfCookieLayer {
    /// The cookie's `Secure` attribute (production).
    pub secure: bool,
}

impl<S> Layer<S> for CsrfCookieLayer {
    type Service = CsrfCookie<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfCookie { inner, secure: self.secure }
    }
}

#[derive(Clone)]
pub struct CsrfCookie<S> {
    inner: S,
    secure: bool,
}

impl<S> Service<Request> for CsrfCookie<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, SetCookie<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let existing = cookie_value(req.headers(), CSRF_COOKIE).filter(|v| looks_like_token(v));
        let is_new = existing.is_none();
        let token = existing.unwrap_or_else(random_token);

        if let Some(sent) = req.headers().get("x-csrftoken") {
            let ok = !is_new && bool::from(sent.as_bytes().ct_eq(token.as_bytes()));
            if !ok && !req.method().is_safe() {
                tracing::warn!(event = "csrf_rejected", "X-CSRFToken does not match the cookie");
                return Either::Left(ready(Ok(AppError::Forbidden.into_response())));
            }
        }

        let cookie = is_new.then(|| new_cookie(&token, self.secure)).flatten();
        req.extensions_mut().insert(CsrfToken(token));
        Either::Right(SetCookie { inner: self.inner.call(req), cookie })
    }
}

fn new_cookie(token: &str, secure: bool) -> Option<HeaderValue> {
    let cookie = Cookie::build((CSRF_COOKIE, token))
        .path("/")
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::days(365))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}

pin_project! {
    /// The inner service's answer, with the new visitor's cookie added.
    pub struct SetCookie<F> {
        #[pin]
        inner: F,
        cookie: Option<HeaderValue>,
    }
}

impl<F> Future for SetCookie<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = std::task::ready!(this.inner.poll(cx));
        if let Some(cookie) = this.cookie.take() {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        Poll::Ready(Ok(response))
    }
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
