//! The one error type handlers return. It becomes a JSON error (`{"details": …}`, the shape the
//! playbook's client reads) here; the `error_pages` layer (`layers.rs`) turns it into the HTML error
//! page on page routes. Internal errors are logged once, with their cause chain, and answered blandly.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use std::io::ErrorKind;

use super::failure::Failure;
use crate::kernel::alerts::{Incident, Kind};
use crate::kernel::db::health::{self, Fault};
use crate::kernel::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that breaks a rule, per field.
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// A request that cannot be served as asked, with a message safe to show.
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("too many requests")]
    TooManyRequests { retry_after: Duration },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    /// The request body did not arrive within its deadline: 408.
    #[error("request timeout")]
    RequestTimeout,
    /// The database (or another dependency) cannot serve now: 503 with `Retry-After`.
    #[error("service unavailable")]
    Unavailable { retry_after: Duration },
    /// A write failed for lack of disk space: 507.
    #[error("insufficient storage")]
    InsufficientStorage,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::Internal(err.into())
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(err: tower_sessions::session::Error) -> Self {
        AppError::Internal(err.into())
    }
}

/// Marks a response as an `AppError`, with the message the error page should show.
#[derive(Clone, Debug)]
pub struct ErrorMessage(pub String);

#[derive(Serialize)]
struct ErrorJson<'a> {
    details: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FieldErrors>,
}

/// The JSON error every API endpoint answers with, as the OpenAPI document describes it.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)] // a schema: responses are written by `AppError`
pub struct ErrorBody {
    /// A message for people.
    details: String,
    /// Per-field messages, for invalid input.
    errors: Option<BTreeMap<String, Vec<String>>>,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Invalid(_) | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a client may see.
    pub fn message(&self) -> String {
        match self {
            AppError::Invalid(errors) => errors.summary(),
            AppError::BadRequest(message) => message.clone(),
            AppError::Unauthorized => "Authentication credentials were not provided.".into(),
            AppError::Forbidden => "You do not have permission to perform this action.".into(),
            AppError::NotFound => "There is nothing at this address.".into(),
            AppError::TooManyRequests { .. } => "Too many requests. Please wait and try again.".into(),
            AppError::UnsupportedMediaType => "This content type is not accepted here.".into(),
            AppError::PayloadTooLarge => "The request body is too large.".into(),
            AppError::RequestTimeout => "The request body arrived too slowly.".into(),
            AppError::Unavailable { .. } => {
                "The service is busy or briefly unavailable. Please try again shortly.".into()
            }
            AppError::InsufficientStorage => {
                "The server is out of storage space; nothing was saved. Please try again later.".into()
            }
            AppError::Internal(_) => "Something went wrong on our side. Please try again.".into(),
        }
    }
}

/// Retry-After for an unavailable database: the pool gives up after 2.5 s, and outages of a
/// few seconds (a restart) are the common case.
const RETRY_UNAVAILABLE: Duration = Duration::from_secs(5);

/// Sorts an internal error by its cause: an unreachable or busy database, or a full disk, is
/// the client's to retry and is logged once per outage; anything else is a bug, logged in full.
fn triage(err: anyhow::Error) -> AppError {
    if crate::kernel::media::is_unavailable(&err) {
        tracing::warn!(event = "storage_unavailable", error = %format!("{err:#}"), "file storage did not answer");
        return AppError::Unavailable { retry_after: RETRY_UNAVAILABLE };
    }
    let fault = err.chain().find_map(|cause| {
        if let Some(db) = cause.downcast_ref::<sqlx::Error>() {
            return Some(health::classify(db));
        }
        cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| (io.kind() == ErrorKind::StorageFull).then_some(Fault::Full))
    });
    match fault {
        Some(Fault::Unavailable) => {
            health::report_unavailable(&err);
            AppError::Unavailable { retry_after: RETRY_UNAVAILABLE }
        }
        Some(Fault::Full) => {
            tracing::error!(event = "disk_full", error = %err, "a write failed: no space left");
            AppError::InsufficientStorage
        }
        _ => {
            tracing::error!(error = ?err, "internal error");
            AppError::Internal(err)
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let AppError::Internal(err) = self else { return self.respond() };
        let incident = Incident::from_error(Kind::ServerError, &err);
        let this = triage(err);
        // A bug or a full disk is news for the admins; a database outage is logged once instead.
        let report = matches!(this, AppError::Internal(_) | AppError::InsufficientStorage);
        let mut response = this.respond();
        if report {
            response.extensions_mut().insert(Failure(incident));
        }
        response
    }
}

impl AppError {
    fn respond(self) -> Response {
        let message = self.message();
        let errors = match &self {
            AppError::Invalid(errors) => Some(errors),
            _ => None,
        };
        let mut response = (self.status(), Json(ErrorJson { details: &message, errors })).into_response();
        if let AppError::TooManyRequests { retry_after } | AppError::Unavailable { retry_after } = &self {
            let secs = retry_after.as_secs().max(1);
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response.extensions_mut().insert(ErrorMessage(message));
        response
    }
}

/// The error for a request body that could not be read: too large, too slow, or broken off.
pub fn body_error(err: &(dyn std::error::Error + 'static), status: StatusCode) -> AppError {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if current.is::<tower_http::timeout::TimeoutError>() {
            return AppError::RequestTimeout;
        }
        cause = current.source();
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::BadRequest("The request body could not be read.".into())
    }
}

/// The JSON body for a framework-made error (no route, wrong method, …) on an API path.
pub fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(ErrorJson { details: message, errors: None })).into_response()
}
