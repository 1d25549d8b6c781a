//! What error mail needs from a request: the failure a response carries (set where the error
//! becomes a response, which cannot see the request) and the user the request was for (set by
//! whatever loads the user, which the middleware that reports cannot see either).

use std::any::Any;
use std::sync::{Arc, OnceLock};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::kernel::alerts::{Incident, Kind};

/// Marks a 5xx response as an error worth reporting.
#[derive(Clone, Debug)]
pub struct Failure(pub Incident);

/// A slot the user loader fills with the signed-in user's id, shared with the reporting layer.
/// Present only when someone hears of errors.
#[derive(Clone, Debug, Default)]
pub struct RequestUser(Arc<OnceLock<String>>);

impl RequestUser {
    pub fn set(&self, id: impl ToString) {
        let _ = self.0.set(id.to_string());
    }

    pub fn get(&self) -> Option<String> {
        self.0.get().cloned()
    }
}

/// The answer to a handler that panicked: a bare 500 (the error layer gives it a body) that
/// carries the panic message for the error mail.
pub fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a handler panicked".to_owned());
    tracing::error!(event = "panic", panic = %message, "a handler panicked");
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(Failure(Incident::new(Kind::Panic, [message])));
    response
}
