//! Multipart form input with at most one file, read with a byte cap while streaming, so an
//! oversized upload is refused (413) before it is all in memory. Two extractors: `CsrfMultipart`
//! for page forms checks the CSRF token as it reads, so an upload form cannot skip the check;
//! `ApiMultipart` serves only `/api/` routes (cross-origin requests are refused there by the
//! middleware, and API clients send no form token).

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
}

impl MultipartInput {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// A page form's multipart body whose `csrf_token` field matches the visitor's cookie. The token
/// must come before the file (forms put it first), so a forged upload is refused before its
/// bytes are read.
#[derive(Debug)]
pub struct CsrfMultipart(pub MultipartInput);

impl<S: Send + Sync> FromRequest<S> for CsrfMultipart {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let expected = req.extensions().get::<CsrfToken>().cloned().unwrap_or(CsrfToken(String::new()));
        read(req, state, Some(expected)).await.map(CsrfMultipart)
    }
}

/// A multipart body sent to the JSON API. Refused on any other path, so a page handler cannot
/// take an upload without its CSRF check by picking this extractor.
#[derive(Debug)]
pub struct ApiMultipart(pub MultipartInput);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !req.uri().path().starts_with("/api/") {
            return Err(AppError::Internal(anyhow::anyhow!("ApiMultipart used outside /api/: use CsrfMultipart")));
        }
        read(req, state, None).await.map(ApiMultipart)
    }
}

/// Reads the body (the route's `DefaultBodyLimit` bounds the whole request); with `csrf`, a
/// matching `csrf_token` field must arrive before the file and the end.
async fn read<S: Send + Sync>(req: Request, state: &S, csrf: Option<CsrfToken>) -> Result<MultipartInput, AppError> {
    let mut multipart = Multipart::from_request(req, state).await.map_err(|_| AppError::UnsupportedMediaType)?;
    let mut input = MultipartInput::default();
    let mut token_checked = csrf.is_none();
    while let Some(field) = multipart.next_field().await.map_err(too_large_or_bad)? {
        let Some(name) = field.name().map(str::to_owned) else { continue };
        if name == "image" {
            if !token_checked {
                return Err(csrf_rejected());
            }
            let bytes = read_field(field, usize::MAX).await?;
            input.file = (!bytes.is_empty()).then_some(bytes);
            continue;
        }
        let bytes = read_field(field, MAX_TEXT_FIELD).await?;
        let text = String::from_utf8(bytes).map_err(|_| AppError::BadRequest("Fields must be UTF-8 text.".into()))?;
        if let (Some(expected), "csrf_token") = (&csrf, name.as_str()) {
            token_checked = !expected.0.is_empty() && bool::from(expected.0.as_bytes().ct_eq(text.as_bytes()));
        }
        input.fields.insert(name, text);
    }
    if token_checked { Ok(input) } else { Err(csrf_rejected()) }
}

fn csrf_rejected() -> AppError {
    tracing::warn!(event = "csrf_rejected", "upload form without a valid CSRF token");
    AppError::Forbidden
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
    match super::error::body_error(&err, err.status()) {
        AppError::BadRequest(_) => AppError::BadRequest("The upload could not be read.".into()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::post;
    use tower::ServiceExt;

    use super::ApiMultipart;

    #[tokio::test]
    async fn the_api_extractor_refuses_to_serve_a_page_route() {
        let app = Router::new().route("/posts/new/", post(|_: ApiMultipart| async { "taken" }));
        let body = "--x\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nhi\r\n--x--\r\n";
        let req = Request::post("/posts/new/")
            .header("content-type", "multipart/form-data; boundary=x")
            .body(Body::from(body))
            .unwrap();

        let res = app.oneshot(req).await.unwrap();

        assert_eq!(res.status(), 500);
    }
}
