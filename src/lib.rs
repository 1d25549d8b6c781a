//! Shoestring: a small team's web application in one binary. `kernel` is the shared machinery,
//! `apps` the features; `app()` assembles them into the router every entry point serves.

mod api_docs;
pub mod apps;
pub mod cli;
pub mod kernel;
pub mod ops;
pub mod seed;

use std::sync::Arc;

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
        .merge(apps::accounts::api_routes().layer(Extension(user_sections())))
        .merge(apps::blog::api_routes(state))
        .merge(apps::badges::api_routes())
        .split_for_parts();
    api_docs::document_common_errors(&mut openapi);
    (router, openapi)
}

/// What other apps keep about a user: their sections of the profile page, the data export and
/// account deletion (a hook accounts offers, so that it imports no other app); an extension of
/// the accounts and console routes.
pub fn user_sections() -> apps::accounts::UserSections {
    apps::accounts::UserSections::new(vec![
        std::sync::Arc::new(apps::blog::BlogSection),
        std::sync::Arc::new(apps::badges::BadgesSection),
    ])
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
        .merge(apps::accounts::router().layer(Extension(user_sections())))
        .merge(apps::blog::router(&state))
        .merge(apps::badges::router())
        .merge(apps::questions::router())
        // The console's deployment checks ask a fresh copy of this router, as the command does.
        .merge(
            apps::admin::router(&state)
                .layer(Extension(user_sections()))
                .layer(Extension(ops::deploy_check::AppRouter(app))),
        )
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
    let health = kernel::http::health::router(state.clone(), readiness_checks());
    // Layers go only on the routes that need them: a layer over the whole router costs every
    // request a boxed service and future (the landing page measurably).
    if state.settings.sso_only {
        routes = routes.layer(axum::middleware::from_fn_with_state(state.clone(), apps::accounts::sso_only_gate));
    }
    health.merge(layers::wrap(routes, state))
}

/// What `/readyz` asks beyond the kernel's own checks: backups and restore drills, which warn
/// but never take the instance out of rotation.
fn readiness_checks() -> Vec<kernel::http::health::ReadinessCheck> {
    vec![std::sync::Arc::new(|state: AppState| {
        Box::pin(async move {
            ops::status::current_warnings(&state)
                .await
                .unwrap_or_else(|err| vec![format!("backup status unreadable: {err}")])
        })
    })]
}

/// Brings the database up to date: the schema migrations, then the apps' data migrations.
/// Returns what a person should look at (e.g. usernames that could not be normalised).
pub async fn migrate(state: &AppState) -> anyhow::Result<Vec<String>> {
    state.db.migrate().await?;
    let report = apps::accounts::normalize_stored_usernames(state).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    for line in &report {
        tracing::warn!(event = "data_migration_report", "{line}");
    }
    let folded = apps::blog::fold_unsearchable(state).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if folded > 0 {
        tracing::info!(event = "posts_indexed", posts = folded, "posts written by an earlier release made searchable");
    }
    Ok(report)
}

/// Every job kind and schedule the apps define.
pub fn job_registry(state: &AppState) -> Registry {
    let mut registry = Registry::default();
    apps::accounts::register_jobs(&mut registry, state);
    apps::blog::register_jobs(&mut registry, state);
    apps::badges::register_jobs(&mut registry, state);
    ops::jobs::register_jobs(&mut registry, state, &ops_hooks(state));
    apps::questions::register_jobs(&mut registry, state);
    kernel::alerts::register_jobs(&mut registry, state);
    registry
}

/// What the restore drill asks of the apps (ops knows none): their invariants, and the app
/// booted on the restored copy answering the post list, the API and one image.
pub fn ops_hooks(state: &AppState) -> ops::AppHooks {
    let settings = state.settings.clone();
    ops::AppHooks {
        invariants: Arc::new(|copy: ops::RestoredCopy| {
            Box::pin(async move {
                let mut broken = apps::accounts::check_invariants(&copy.db).await?;
                broken.extend(apps::blog::check_invariants(&copy.db, copy.media.as_ref()).await?);
                Ok(broken)
            })
        }),
        smoke: Arc::new(move |copy| Box::pin(smoke_on_copy(settings.clone(), copy))),
    }
}

async fn smoke_on_copy(settings: Arc<kernel::config::Settings>, copy: ops::RestoredCopy) -> anyhow::Result<String> {
    let mut settings = (*settings).clone();
    settings.database_url = kernel::config::Secret::new(copy.database_url);
    settings.media_dir = copy.media_dir;
    settings.storage.media_store = None;
    settings.storage.backup_to = None;
    settings.run_worker = false;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    settings.bind = addr;
    let host = settings.allowed_hosts().into_iter().next().unwrap_or_else(|| "localhost".into());
    let state = AppState::build(settings, kernel::clock::Clock::default()).await?;
    let pool = state.db.pool.clone();
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(serve(state, listener, stopped));
    let asked = async {
        let ask = |path: String| {
            let host = host.clone();
            async move {
                let answer = ops::smoke::get(addr, &host, &path).await?;
                anyhow::ensure!(answer.status == 200, "GET {path} answered {}", answer.status);
                anyhow::Ok((format!("GET {path} 200 ({} bytes)", answer.body.len()), answer.body))
            }
        };
        let (page, _) = ask("/posts/".into()).await?;
        let (api, body) = ask("/api/posts/?limit=20".into()).await?;
        let mut answered = vec![page, api];
        // The newest post with an image names its file: fetch that too.
        let body = String::from_utf8_lossy(&body);
        if let Some(image) = body.find("/media/").and_then(|at| body[at..].split('"').next()) {
            answered.push(ask(image.to_owned()).await?.0);
        }
        anyhow::Ok(answered.join(", "))
    }
    .await;
    let _ = stop.send(true);
    let _ = server.await;
    // Closed now, so the drill can drop a scratch PostgreSQL database at once.
    pool.close().await;
    asked
}

pub fn worker(state: &AppState) -> Worker {
    Worker::new(state.db.clone(), state.clock.clone(), job_registry(state)).reporting_to(state.alerts.clone())
}

/// Serves `app` on `listener` until `shutdown` turns true, then drains in-flight requests
/// within the server's limits.
pub async fn serve(state: AppState, listener: TcpListener, shutdown: watch::Receiver<bool>) -> std::io::Result<()> {
    let limits = state.settings.server_limits();
    // Signed-in state may be cached only by a process that follows the change feed.
    state.db.changes.start(state.db.pool.clone(), shutdown.clone());
    kernel::http::server::run(app(state), listener, limits, shutdown).await;
    Ok(())
}
