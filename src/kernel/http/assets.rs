//! Static files, embedded in the binary at build time: one stylesheet, one small script.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::kernel::AppState;

const STYLE_CSS: &str = include_str!("../../../static/style.css");

pub fn router() -> Router<AppState> {
    Router::new().route("/static/style.css", get(style_css))
}

async fn style_css() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE_CSS).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
