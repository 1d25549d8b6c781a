//! The dashboard: counts, sign-ups per day, the latest audit entries, the state of backups
//! (the last backup and restore drill, and what needs attention), and the deployment checks
//! that are not ok (those of `check --deploy`, without its SMTP test send).

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;

use super::AuditRow;
use crate::apps::accounts::{self, StaffUser, Viewer};
use crate::apps::admin::chart::{self, Bar};
use crate::apps::blog;
use crate::kernel::AppState;
use crate::kernel::audit::{self, Filter};
use crate::kernel::clock::format_timestamp;
use crate::kernel::http::{AppError, PageContext, render};
use crate::ops::deploy_check::{self, AppRouter};
use crate::ops::report::Finding;

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    page: PageContext,
    users: i64,
    active: i64,
    new_this_week: i64,
    posts: i64,
    likes: i64,
    bars: Vec<Bar>,
    first_day: String,
    last_day: String,
    width: u32,
    height: u32,
    recent: Vec<AuditRow>,
    backup: Option<RunView>,
    drill: Option<RunView>,
    backup_warnings: Vec<String>,
    deploy_findings: Vec<Finding>,
}

/// A backup or drill run as the dashboard shows it.
struct RunView {
    when: String,
    ok: bool,
    size: String,
    seconds: String,
    detail: String,
}

impl From<crate::ops::status::Run> for RunView {
    fn from(run: crate::ops::status::Run) -> Self {
        Self {
            when: format_timestamp(run.started_at),
            ok: run.ok,
            size: format!("{:.1} MiB", run.bytes as f64 / (1024.0 * 1024.0)),
            seconds: format!("{:.1} s", run.duration_ms as f64 / 1000.0),
            detail: run.detail,
        }
    }
}

pub async fn dashboard_page(
    State(state): State<AppState>,
    Extension(app): Extension<AppRouter>,
    _staff: StaffUser,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let stats = accounts::account_stats(&state).await?;
    let (posts, likes) = blog::counts(&state).await?;
    let day = |d: i64| format_timestamp(d * 86_400).chars().take(10).collect::<String>();
    let points: Vec<(String, i64)> = stats.signups.iter().map(|(d, n)| (day(*d), *n)).collect();
    let recent = audit::list(&state.db.pool, &Filter { limit: 10, ..Filter::default() }).await?;
    let storage = &state.settings.storage;
    let backups = crate::ops::status::backup_status(
        &state.db,
        state.clock.now(),
        storage.backup_every_secs(),
        storage.drill_every_secs().is_some(),
    )
    .await?;
    let probes = deploy_check::gather(&state, (app.0)(state.clone())).await;
    let deploy_findings = deploy_check::needing_attention(&deploy_check::report(&state.settings, &probes));
    render(&DashboardPage {
        page: viewer.page,
        users: stats.users,
        active: stats.active,
        new_this_week: stats.new_this_week,
        posts,
        likes,
        first_day: points.first().map(|p| p.0.clone()).unwrap_or_default(),
        last_day: points.last().map(|p| p.0.clone()).unwrap_or_default(),
        bars: chart::bars(&points),
        width: chart::WIDTH,
        height: chart::HEIGHT,
        recent: recent.into_iter().map(AuditRow::from).collect(),
        backup: backups.last_backup.map(RunView::from),
        drill: backups.last_drill.map(RunView::from),
        backup_warnings: backups.warnings,
        deploy_findings,
    })
}
