//! The middleware every request passes, outermost first: request id and trace span, metrics,
//! security headers, error pages, panic catcher, timeout, Host allowlist, cross-origin refusal,
//! CSRF cookie, session, body deadline, small bodies read in full, body limit. Spans name the
//! route template, never the raw URI, so tokens in paths stay out of logs.

use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower::util::MapResponseLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::{RequestBodyDeadlineLayer, TimeoutLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tracing::Level;

use super::bodies::ReadSmallBodiesLayer;
use super::csrf::CsrfCookieLayer;
use super::error::{ErrorMessage, json_error};
use super::failure::{Failure, RequestUser};
use super::hosts::AllowedHostsLayer;
use super::render::PageContext;
use crate::kernel::AppState;
use crate::kernel::alerts::RequestInfo;
use crate::kernel::config::Settings;
use crate::kernel::metrics::CountRequestsLayer;
use crate::kernel::session::DbSessionStore;

const BODY_LIMIT: usize = 64 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const HSTS: &str = "max-age=31536000; includeSubDomains";
const HSTS_PRELOAD: &str = "max-age=31536000; includeSubDomains; preload";
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Wraps the app's routes in the whole middleware stack.
pub fn wrap(router: Router<AppState>, state: AppState) -> Router {
    let store = DbSessionStore::new(state.db.clone(), state.clock.clone());
    let counting = state.settings.operations.metrics_bind.0.is_some();
    let stack = ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([header::COOKIE, header::AUTHORIZATION]))
        .layer(SetRequestIdLayer::new(X_REQUEST_ID, FastRequestId))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(X_REQUEST_ID))
        // Without a metrics listener nobody reads the counts: the layer is left out.
        .option_layer(counting.then(|| CountRequestsLayer(state.metrics.requests.clone())))
        .layer(MapResponseLayer::new(security_headers(&state.settings)))
        .layer(middleware::from_fn_with_state(state.clone(), error_pages))
        .layer(CatchPanicLayer::custom(super::failure::panic_response))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .layer(AllowedHostsLayer(state.allowed_hosts.clone()))
        .layer(CsrfLayer::new())
        .layer(CsrfCookieLayer { secure: state.settings.is_production() })
        .layer(session_layer(&state.settings, store))
        .layer(RequestBodyDeadlineLayer::new(Duration::from_secs(state.settings.body_read_timeout_secs.max(1))))
        .layer(ReadSmallBodiesLayer { limit: BODY_LIMIT })
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    router.layer(stack).with_state(state)
}

/// The session cookie's name and attributes. The session layer is built from these, and
/// `check --deploy` reads them: a GET sets no session cookie, so no response shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionCookie {
    pub name: &'static str,
    pub http_only: bool,
    pub secure: bool,
    pub same_site: SameSite,
    pub path: &'static str,
}

/// HttpOnly, SameSite=Lax, `__Host-` prefixed and Secure in production.
pub fn session_cookie(settings: &Settings) -> SessionCookie {
    let production = settings.is_production();
    SessionCookie {
        name: if production { "__Host-sessionid" } else { "sessionid" },
        http_only: true,
        secure: production,
        same_site: SameSite::Lax,
        path: "/",
    }
}

fn session_layer(settings: &Settings, store: DbSessionStore) -> SessionManagerLayer<DbSessionStore> {
    let cookie = session_cookie(settings);
    SessionManagerLayer::new(store)
        .with_name(cookie.name)
        .with_http_only(cookie.http_only)
        .with_same_site(cookie.same_site)
        .with_secure(cookie.secure)
        .with_path(cookie.path)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(settings.session_idle_days)))
}

/// 128 random bits in hex from the thread's userspace generator. tower-http's UUID maker asks
/// the kernel for randomness on every request: a system call per request on the landing page.
#[derive(Clone, Copy)]
struct FastRequestId;

impl MakeRequestId for FastRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id: u128 = rand::random();
        HeaderValue::from_str(&format!("{id:032x}")).ok().map(RequestId::new)
    }
}

fn make_span(req: &Request) -> tracing::Span {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    let request_id = req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("");
    tracing::info_span!("request", method = %req.method(), route, request_id)
}

/// Headers every response gets unless the handler chose its own. A plain response map, not a
/// `from_fn` middleware: that one clones and boxes the services beneath it on every request.
fn security_headers(settings: &Settings) -> impl Fn(Response) -> Response + Clone + use<> {
    let hsts = settings.is_production().then_some(if settings.hsts_preload { HSTS_PRELOAD } else { HSTS });
    move |mut response: Response| {
        let headers = response.headers_mut();
        let mut set = |name: HeaderName, value: &'static str| {
            headers.entry(name).or_insert(HeaderValue::from_static(value));
        };
        set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
        set(header::X_FRAME_OPTIONS, "DENY");
        set(header::CONTENT_SECURITY_POLICY, CSP);
        set(HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
        set(header::CACHE_CONTROL, "no-store");
        if let Some(hsts) = hsts {
            set(header::STRICT_TRANSPORT_SECURITY, hsts);
        }
        response
    }
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage {
    page: PageContext,
    status: u16,
    title: String,
    message: String,
}

/// One place that gives every error a body: JSON under `/api/` and for clients that speak JSON
/// (a JSON body, or `Accept: application/json` without HTML), the app's HTML error page elsewhere.
/// Responses a handler rendered itself (a form with its errors, GraphQL's error list) pass untouched.
async fn error_pages(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/") || speaks_json(req.headers());
    let console = PageContext::is_console_path(req.uri().path());
    let watched = state.alerts.enabled().then(|| watch_request(&mut req));
    let response = next.run(req).await;
    let status = response.status();
    if status.as_u16() < 400 {
        return response;
    }
    if let (Some(Failure(incident)), Some((mut request, user))) = (response.extensions().get::<Failure>(), watched) {
        request.status = status.as_u16();
        request.user_id = user.get();
        state.alerts.report(incident.clone().in_request(request));
    }
    let marked = response.extensions().get::<ErrorMessage>().map(|m| m.0.clone());
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // A body the handler wrote itself stays; an `AppError`'s JSON becomes a page for browsers.
    let html = content_type.starts_with("text/html");
    // A JSON-LD document (a revoked Open Badges assertion is a 410 validators read) counts too.
    let json = content_type.starts_with("application/json") || content_type.starts_with("application/ld+json");
    if (html && marked.is_none()) || (json && (marked.is_none() || is_api)) {
        return response;
    }
    let message = marked.unwrap_or_else(|| default_message(status).to_owned());
    let mut replacement = if is_api {
        json_error(status, &message)
    } else {
        let page = ErrorPage {
            page: PageContext {
                dev_tools: state.settings.outbox_enabled(),
                error_page: true,
                console,
                ..PageContext::default()
            },
            status: status.as_u16(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            message,
        };
        match page.render() {
            Ok(html) => (status, axum::response::Html(html)).into_response(),
            Err(_) => status.into_response(),
        }
    };
    for name in [header::RETRY_AFTER, header::ALLOW, header::SET_COOKIE] {
        for value in response.headers().get_all(&name) {
            replacement.headers_mut().append(name.clone(), value.clone());
        }
    }
    replacement
}

/// What error mail says of a request, and the slot its user's id lands in.
fn watch_request(req: &mut Request) -> (RequestInfo, RequestUser) {
    let user = RequestUser::default();
    req.extensions_mut().insert(user.clone());
    let request = RequestInfo {
        id: req.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("").to_owned(),
        method: req.method().to_string(),
        route: req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned(),
        ..RequestInfo::default()
    };
    (request, user)
}

fn speaks_json(headers: &axum::http::HeaderMap) -> bool {
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    value(header::CONTENT_TYPE).starts_with("application/json")
        || (value(header::ACCEPT).contains("application/json") && !value(header::ACCEPT).contains("text/html"))
}

fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "The request could not be understood.",
        StatusCode::FORBIDDEN => {
            "You do not have permission to do that. If you submitted a form, reload the page and try again."
        }
        StatusCode::NOT_FOUND => "There is nothing at this address.",
        StatusCode::METHOD_NOT_ALLOWED => "That method is not allowed here.",
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large.",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "This content type is not accepted here.",
        StatusCode::UNPROCESSABLE_ENTITY => "The request could not be processed.",
        StatusCode::SERVICE_UNAVAILABLE => "The service is busy. Please try again shortly.",
        _ => "Something went wrong on our side. Please try again.",
    }
}
