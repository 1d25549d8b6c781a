//! Shoestring: a small team's web application in one binary. `kernel` is the shared machinery,
//! `apps` the features; `app()` assembles them into the router every entry point serves.

mod api_docs;
pub mod apps;
pub mod cli;
pub mod kernel;
pub mod ops;
pub mod seed;

use axum::routing::post;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use kernel::AppState;
use kernel::http::{AppError, assets, layers};
use kernel::jobs::{Registry, Worker};

/// The JSON API of every app, with the OpenAPI document that describes exactly those routes.
pub fn api(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(api_docs::ApiDoc::openapi())
        .merge(apps::accounts::api_routes())
        .merge(apps::blog::api_routes(state))
        .split_for_parts();
    api_docs::document_common_errors(&mut openapi);
    (router, openapi)
}

/// What other apps keep about a user: their sections of the profile page, the data export and
/// account deletion (a hook accounts offers, so that it imports no other app).
pub fn user_sections() -> apps::accounts::UserSections {
    apps::accounts::UserSections::new(vec![std::sync::Arc::new(apps::blog::BlogSection)])
}

/// The whole HTTP app: every app's routes inside the shared middleware stack.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api(&state);
    let graphql = post(apps::blog::graphql::execute).layer(Extension(apps::blog::graphql::schema(&state)));
    let home = match &state.settings.question_home {
        Some(slug) => apps::questions::home_router(slug),
        None => apps::home::router(),
    };
    let mut routes = Router::new()
        .merge(home)
        .merge(apps::accounts::router())
        .merge(apps::blog::router(&state))
        .merge(apps::questions::router())
        .merge(apps::admin::router(&state))
        .merge(api)
        .merge(assets::router())
        .fallback(|| async { AppError::NotFound });
    if state.settings.api_docs_enabled() {
        routes = routes.merge(api_docs::router(openapi)).route("/graphql", graphql.get(api_docs::graphiql));
    } else {
        routes = routes.route("/graphql", graphql);
    }
    if state.settings.outbox_enabled() {
        routes = routes.merge(apps::devmail::router());
    }
    layers::wrap(routes.layer(Extension(user_sections())), state)
}

/// Brings the database up to date: the schema migrations, then the apps' data migrations.
/// Returns what a person should look at (e.g. usernames that could not be normalised).
pub async fn migrate(state: &AppState) -> anyhow::Result<Vec<String>> {
    state.db.migrate().await?;
    let report = apps::accounts::normalize_stored_usernames(state).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    for line in &report {
        tracing::warn!(event = "data_migration_report", "{line}");
    }
    Ok(report)
}

/// Every job kind and schedule the apps define.
pub fn job_registry(state: &AppState) -> Registry {
    let mut registry = Registry::default();
    apps::accounts::register_jobs(&mut registry, state);
    apps::blog::register_jobs(&mut registry, state);
    apps::questions::register_jobs(&mut registry, state);
    registry
}

pub fn worker(state: &AppState) -> Worker {
    Worker::new(state.db.clone(), state.clock.clone(), job_registry(state))
}

/// Serves `app` on `listener` until `shutdown` turns true, then drains in-flight requests
/// within the server's limits.
pub async fn serve(state: AppState, listener: TcpListener, shutdown: watch::Receiver<bool>) -> std::io::Result<()> {
    let limits = state.settings.server_limits();
    kernel::http::server::run(app(state), listener, limits, shutdown).await;
    Ok(())
}
