//! API documentation served by the binary: the OpenAPI 3.1 document, Swagger UI and GraphiQL
//! (all assets embedded, so they work offline). On in development, off in production unless
//! `API_DOCS=true`.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa_swagger_ui::SwaggerUi;

use crate::kernel::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Shoestring API", description = "Accounts, profile and micro-blog. Errors are JSON: `{\"details\": …}`."),
    tags((name = "accounts"), (name = "profile"), (name = "staff"), (name = "posts"), (name = "badges"))
)]
pub struct ApiDoc;

/// Adds the answers every endpoint can give besides its own: a request that cannot be read (400
/// for a malformed body or a path or query value of the wrong type, 408 for a body that arrives
/// too slowly, 413 for one too large, 415 for the wrong content type) and 503 while the database
/// is unreachable (with `Retry-After`). Documenting them here keeps the handlers' lists to their
/// own outcomes.
pub fn document_common_errors(openapi: &mut utoipa::openapi::OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let mut statuses = vec![("503", "The database is briefly unavailable; retry after `Retry-After` seconds.")];
            let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            if operation.request_body.is_some() {
                statuses.extend([
                    ("400", "The request could not be read or broke a rule."),
                    ("408", "The request body arrived too slowly."),
                    ("413", "The request body is too large."),
                    ("415", "The body's content type is not accepted here."),
                ]);
            } else if has_parameters {
                statuses.push(("400", "A path or query value could not be read."));
            }
            for (status, description) in statuses {
                operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(description));
            }
        }
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::response::Response> {
    let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
    RefOr::T(ResponseBuilder::new().description(description).content("application/json", body).build())
}

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
