//! Multipart form input with at most one file, read with a byte cap while streaming, so an
//! oversized upload is refused (413) before it is all in memory.

use std::collections::HashMap;

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use subtle::ConstantTimeEq;

use super::csrf::CsrfToken;
use super::error::AppError;

const MAX_TEXT_FIELD: usize = 16 * 1024;

#[derive(Debug, Default)]
pub struct MultipartInput {
    pub fields: HashMap<String, String>,
    /// The bytes of the `image` part, when one was sent with content.
    pub file: Option<Vec<u8>>,
    csrf: Option<CsrfToken>,
}

impl MultipartInput {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// For page forms: the `csrf_token` field must match the visitor's cookie.
    pub fn check_csrf(&self) -> Result<(), AppError> {
        let sent = self.text("csrf_token").unwrap_or("");
        match &self.csrf {
            Some(token) if bool::from(token.0.as_bytes().ct_eq(sent.as_bytes())) => Ok(()),
            _ => {
                tracing::warn!(event = "csrf_rejected", "upload form without a valid CSRF token");
                Err(AppError::Forbidden)
            }
        }
    }
}

/// Reads the body; the route's `DefaultBodyLimit` bounds the whole request.
impl<S: Send + Sync> FromRequest<S> for MultipartInput {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let csrf = req.extensions().get::<CsrfToken>().cloned();
        let mut multipart = Multipart::from_request(req, state).await.map_err(|_| AppError::UnsupportedMediaType)?;
        let mut input = MultipartInput { csrf, ..Default::default() };
        while let Some(field) = multipart.next_field().await.map_err(too_large_or_bad)? {
            let Some(name) = field.name().map(str::to_owned) else { continue };
            if name == "image" {
                let bytes = read_field(field, usize::MAX).await?;
                input.file = (!bytes.is_empty()).then_some(bytes);
            } else {
                let bytes = read_field(field, MAX_TEXT_FIELD).await?;
                let text =
                    String::from_utf8(bytes).map_err(|_| AppError::BadRequest("Fields must be UTF-8 text.".into()))?;
                input.fields.insert(name, text);
            }
        }
        Ok(input)
    }
}

async fn read_field(mut field: Field<'_>, max: usize) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(too_large_or_bad)? {
        if bytes.len() + chunk.len() > max {
            return Err(AppError::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn too_large_or_bad(err: MultipartError) -> AppError {
    if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge
    } else {
        AppError::BadRequest("The upload could not be read.".into())
    }
}
