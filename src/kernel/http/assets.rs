//! Static files, embedded in the binary at build time: the stylesheet, the icon, the small
//! script that upgrades like buttons, and GraphiQL's vendored bundles (stored gzipped).

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppError;
use crate::kernel::AppState;

const STYLE_CSS: &str = include_str!("../../../static/style.css");
const FAVICON_SVG: &str = include_str!("../../../static/favicon.svg");
const APP_JS: &str = include_str!("../../../static/app.js");
const GRAPHIQL_JS: &str = include_str!("../../../static/graphiql.js");
const GRAPHIQL_CSS: &str = include_str!("../../../static/graphiql.css");

/// GraphiQL 3.8.3 and React 18.3.1 (MIT), gzipped: (file name, content type, bytes).
const VENDOR: [(&str, &str, &[u8]); 4] = [
    ("graphiql.min.js", JS, include_bytes!("../../../static/vendor/graphiql/graphiql.min.js.gz")),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../static/vendor/graphiql/graphiql.min.css.gz"),
    ),
    ("react.production.min.js", JS, include_bytes!("../../../static/vendor/graphiql/react.production.min.js.gz")),
    (
        "react-dom.production.min.js",
        JS,
        include_bytes!("../../../static/vendor/graphiql/react-dom.production.min.js.gz"),
    ),
];
const JS: &str = "text/javascript; charset=utf-8";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/style.css", get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }))
        .route("/static/favicon.svg", get(|| async { asset("image/svg+xml", FAVICON_SVG) }))
        .route("/favicon.ico", get(|| async { asset("image/svg+xml", FAVICON_SVG) }))
        .route("/static/app.js", get(|| async { asset(JS, APP_JS) }))
        .route("/static/graphiql.js", get(|| async { asset(JS, GRAPHIQL_JS) }))
        .route("/static/graphiql.css", get(|| async { asset("text/css; charset=utf-8", GRAPHIQL_CSS) }))
        .route("/static/vendor/graphiql/{file}", get(vendor))
        // The console's copies, for a proxy that forwards only `/admin/*` and `/static/admin/*`.
        .route("/static/admin/style.css", get(|| async { asset("text/css; charset=utf-8", STYLE_CSS) }))
        .route("/static/admin/favicon.svg", get(|| async { asset("image/svg+xml", FAVICON_SVG) }))
        .route("/static/admin/app.js", get(|| async { asset(JS, APP_JS) }))
}

async fn vendor(Path(file): Path<String>) -> Response {
    let Some((_, content_type, gzipped)) = VENDOR.iter().find(|(name, _, _)| *name == file) else {
        return AppError::NotFound.into_response();
    };
    let mut response = asset(content_type, *gzipped);
    // Every browser accepts gzip; these are only for the development tools.
    response.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    response
}

fn asset(content_type: &'static str, body: impl IntoResponse) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
