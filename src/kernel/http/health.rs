//! What a supervisor, a proxy or a deploy asks the process: `/up` (it answers, and is not being
//! drained: what a load balancer asks; no I/O but one `stat` when DRAIN_FILE is set),
//! `/readyz` (readiness: the database answers within a second, the schema is current, the job
//! queue moves, the data folder's disk has room; 503 with the failed checks as JSON otherwise),
//! `/version` and `/deployed_commit_id.txt`. Served outside the middleware stack: no cookies, no
//! session, and any Host (a proxy's health check calls the upstream by address). Checks an app
//! or operations code adds (backups, say) arrive as `ReadinessCheck`s; they can only warn.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::future::BoxFuture;
use serde::Serialize;

use crate::kernel::AppState;
use crate::kernel::build_info;

/// A check beyond the kernel's own: its name and the warnings it finds (empty when all is well).
pub type ReadinessCheck = Arc<dyn Fn(AppState) -> BoxFuture<'static, Vec<String>> + Send + Sync>;

const DB_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
}

#[derive(Debug, Serialize)]
struct Readiness {
    ok: bool,
    checks: Vec<Check>,
    warnings: Vec<String>,
}

pub fn router(state: AppState, extra: Vec<ReadinessCheck>) -> Router {
    let extra = Arc::new(extra);
    Router::new()
        .route("/up", get(up))
        .route("/version", get(version))
        .route("/deployed_commit_id.txt", get(|| async { no_store(build_info::COMMIT) }))
        .route("/readyz", get(move |state| readyz(state, extra.clone())))
        .with_state(state)
}

fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 503 while the drain file exists. Not `/readyz`: a deploy waits for a drained instance's
/// readiness before it lets it back in, and a shared database that is slow must not take every
/// instance out of the load balancer at once.
async fn up(State(state): State<AppState>) -> Response {
    match &state.settings.operations.drain_file {
        Some(file) if file.exists() => {
            let mut response = no_store((StatusCode::SERVICE_UNAVAILABLE, "draining"));
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
        _ => no_store("ok"),
    }
}

async fn version() -> Response {
    no_store(Json(build_info::identity_json()))
}

async fn readyz(State(state): State<AppState>, extra: Arc<Vec<ReadinessCheck>>) -> Response {
    let checks = vec![database(&state).await, job_queue(&state).await, disk(&state)];
    let mut warnings = Vec::new();
    for check in extra.iter() {
        warnings.extend(check(state.clone()).await);
    }
    let ok = checks.iter().all(|c| c.ok);
    let body = Json(Readiness { ok, checks, warnings });
    if ok {
        return no_store(body);
    }
    let mut response = no_store((StatusCode::SERVICE_UNAVAILABLE, body));
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

fn check(name: &'static str, result: Result<String, String>) -> Check {
    match result {
        Ok(detail) => Check { name, ok: true, detail },
        Err(detail) => Check { name, ok: false, detail },
    }
}

/// Reachable within a second, and migrated to what this binary knows.
async fn database(state: &AppState) -> Check {
    let applied = tokio::time::timeout(DB_TIMEOUT, state.db.applied_migration()).await;
    let latest = crate::kernel::db::Db::latest_migration(state.db.backend);
    check(
        "database",
        match applied {
            Err(_) => Err(format!("no answer within {} s", DB_TIMEOUT.as_secs())),
            Ok(Err(err)) => Err(format!("unreachable: {err}")),
            Ok(Ok(version)) if version < latest => Err(format!("schema at {version}, this release needs {latest}")),
            Ok(Ok(version)) => Ok(format!("schema at {version}")),
        },
    )
}

/// The oldest job that is due has not waited longer than allowed: a worker is taking jobs.
async fn job_queue(state: &AppState) -> Check {
    let now = state.clock.now();
    let oldest = tokio::time::timeout(DB_TIMEOUT, crate::kernel::jobs::oldest_due(&state.db, now)).await;
    let limit = state.settings.operations.ready_max_job_delay_secs;
    check(
        "jobs",
        match oldest {
            Ok(Ok(Some(due))) if now - due > limit => Err(format!("the oldest due job has waited {} s", now - due)),
            Ok(Ok(Some(due))) => Ok(format!("the oldest due job has waited {} s", now - due)),
            Ok(Ok(None)) => Ok("nothing due".into()),
            Ok(Err(err)) => Err(format!("could not read the queue: {err}")),
            Err(_) => Err("the queue did not answer within a second".into()),
        },
    )
}

/// Room on the disk that holds the data (the SQLite file, uploads).
fn disk(state: &AppState) -> Check {
    // A folder not made yet (media on first upload) is on the disk of the working directory.
    let dir = Some(state.settings.data_dir()).filter(|d| d.exists()).unwrap_or_else(|| ".".into());
    let min = state.settings.operations.ready_min_free_mb;
    check(
        "disk",
        match rustix::fs::statvfs(&dir) {
            Ok(stat) => {
                let free_mb = stat.f_bavail.saturating_mul(stat.f_frsize) / (1024 * 1024);
                if free_mb < min {
                    Err(format!("{free_mb} MiB free, below {min}"))
                } else {
                    Ok(format!("{free_mb} MiB free"))
                }
            }
            Err(err) => Err(format!("cannot read {}: {err}", dir.display())),
        },
    )
}
