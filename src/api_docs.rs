//! API documentation served by the binary: the OpenAPI 3.1 document, Swagger UI and GraphiQL
//! (all assets embedded, so they work offline). On in development, off in production unless
//! `API_DOCS=true`.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::kernel::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Shoestring API", description = "Accounts, profile and micro-blog. Errors are JSON: `{\"details\": …}`."),
    tags((name = "accounts"), (name = "profile"), (name = "staff"), (name = "posts"))
)]
pub struct ApiDoc;

/// Swagger UI and GraphiQL style themselves inline; their pages get a CSP that allows it.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'none'; \
                        frame-ancestors 'none'; form-action 'self'";

pub fn router(openapi: utoipa::openapi::OpenApi) -> Router<AppState> {
    Router::new()
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi))
        .layer(SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP)))
}

const GRAPHIQL_HTML: &str = include_str!("../templates/graphiql.html");

/// GraphiQL, on `GET /graphql`.
pub async fn graphiql() -> Response {
    let mut response = Html(GRAPHIQL_HTML).into_response();
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP));
    response
}
