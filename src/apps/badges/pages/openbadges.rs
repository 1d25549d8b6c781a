//! Open Badges documents at stable public URLs (JSON-LD; no login), and the baked images a
//! holder downloads. A revoked assertion answers 410 Gone with `revoked: true`.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::apps::badges::service::export;
use crate::kernel::AppState;
use crate::kernel::http::AppError;

fn json_ld(status: StatusCode, doc: &serde_json::Value) -> Response {
    let mut response = (status, doc.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/ld+json"));
    // Other backpacks and validators read these from their own origins.
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

pub async fn ob2_issuer(State(state): State<AppState>) -> Response {
    json_ld(StatusCode::OK, &crate::apps::badges::openbadges::ob2::issuer_profile(&export::issuer(&state)))
}

pub async fn ob2_class(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    Ok(json_ld(StatusCode::OK, &export::hosted_class(&state, &id).await?))
}

pub async fn ob2_assertion(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    let (doc, revoked) = export::hosted_assertion(&state, &id).await?;
    Ok(json_ld(if revoked { StatusCode::GONE } else { StatusCode::OK }, &doc))
}

pub async fn ob2_revocations(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(json_ld(StatusCode::OK, &export::revocation_list(&state).await?))
}

/// A baked image as a download: PNG, or SVG served so it can never run as a document.
pub fn image_download(bytes: Vec<u8>, svg: bool, name: &str) -> Response {
    let kind = if svg { "image/svg+xml" } else { "image/png" };
    let mut response = ([(header::CONTENT_TYPE, kind)], bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    let disposition = format!("attachment; filename=\"{name}.{}\"", if svg { "svg" } else { "png" });
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

pub async fn baked_png(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    Ok(image_download(export::baked_ob2(&state, &id, false).await?, false, "badge"))
}

pub async fn baked_svg(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    Ok(image_download(export::baked_ob2(&state, &id, true).await?, true, "badge"))
}

fn jwt(token: String) -> Response {
    let mut response = token.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vc+jwt"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

pub async fn ob3_issuer(State(state): State<AppState>) -> Response {
    json_ld(StatusCode::OK, &crate::apps::badges::openbadges::ob3::issuer_profile(&export::issuer(&state)))
}

pub async fn ob3_jwks(State(state): State<AppState>) -> Response {
    let mut response = json_ld(StatusCode::OK, &export::issuer_key(&state).jwks());
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    response
}

pub async fn ob3_status(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(jwt(export::status_list(&state).await?))
}

pub async fn ob3_credential(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    Ok(jwt(export::credential_jwt(&state, &id).await?))
}

pub async fn credential_png(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    Ok(image_download(export::baked_ob3(&state, &id, false).await?, false, "badge-credential"))
}

pub async fn credential_svg(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    Ok(image_download(export::baked_ob3(&state, &id, true).await?, true, "badge-credential"))
}
