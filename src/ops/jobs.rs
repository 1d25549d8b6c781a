//! Backups and drills as recorded runs and as scheduled jobs. Every run, from the command line
//! or the scheduler, lands in `backup_runs`; a failure is also logged once as an error event
//! (`backup_failed`, `drill_failed`) for the error mail, and a scheduled one fails its job so
//! the queue retries it with backoff. An hourly watch reports backups or drills gone stale.

use std::time::Instant;

use futures::future::BoxFuture;

use super::AppHooks;
use super::backup::{self, BackupOutcome};
use super::drill::{self, Choice, DrillReport};
use super::status::{self, Run, RunKind};
use crate::kernel::AppState;
use crate::kernel::alerts::{Incident, Kind};
use crate::kernel::jobs::{Registry, Schedule};

pub const BACKUP_JOB: &str = "ops.backup";
pub const DRILL_JOB: &str = "ops.drill";
pub const WATCH_JOB: &str = "ops.backup_watch";

/// Schedules the backup, the drill and the watch when `BACKUP_TO` is set.
pub fn register_jobs(registry: &mut Registry, state: &AppState, hooks: &AppHooks) {
    let storage = &state.settings.storage;
    if let Some(every) = storage.backup_every_secs() {
        let state = state.clone();
        registry.handle(BACKUP_JOB, move |_| {
            let state = state.clone();
            async move { run_backup(&state, None).await.map(|_| ()) }
        });
        registry.schedule(Schedule { name: BACKUP_JOB, every_secs: every, kind: BACKUP_JOB });
    }
    if let Some(every) = storage.drill_every_secs() {
        let (state, hooks) = (state.clone(), hooks.clone());
        registry.handle(DRILL_JOB, move |_| scheduled_drill(state.clone(), hooks.clone()));
        registry.schedule(Schedule { name: DRILL_JOB, every_secs: every, kind: DRILL_JOB });
    }
    if storage.backup_to.is_some() {
        let state = state.clone();
        registry.handle(WATCH_JOB, move |_| {
            let state = state.clone();
            async move { watch(&state).await }
        });
        registry.schedule(Schedule { name: WATCH_JOB, every_secs: 3600, kind: WATCH_JOB });
    }
}

/// The weekly drill of the newest archive. Boxed here: the compiler cannot prove the drill's
/// future `Send` for every lifetime when it is built inside the handler closure.
fn scheduled_drill(state: AppState, hooks: AppHooks) -> BoxFuture<'static, anyhow::Result<()>> {
    Box::pin(async move {
        let destination = backup::destination(&state, None)?;
        run_drill(&state, &hooks, &Choice::Latest(destination)).await.map(|_| ())
    })
}

/// A backup to `to` (or BACKUP_TO), recorded whatever happens.
pub async fn run_backup(state: &AppState, to: Option<&str>) -> anyhow::Result<BackupOutcome> {
    let started_at = state.clock.now();
    let started = Instant::now();
    let outcome = match backup::destination(state, to) {
        Ok(destination) => backup::backup(state, &destination).await,
        Err(err) => Err(err),
    };
    let run = match &outcome {
        Ok(done) => Run {
            started_at,
            duration_ms: millis(started),
            ok: true,
            archive: format!("{}/{}", done.destination.trim_end_matches('/'), done.name),
            bytes: i64::try_from(done.bytes).unwrap_or(i64::MAX),
            detail: format!("{} rows, {} media files", done.manifest.total_rows(), done.manifest.media_files().count()),
        },
        Err(err) => {
            tracing::error!(event = "backup_failed", error = %format!("{err:#}"), "backup failed");
            state.alerts.record(&Incident::from_error(Kind::BackupFailed, err)).await;
            failed_run(started_at, started, err)
        }
    };
    if let Err(err) = status::record(&state.db, RunKind::Backup, &run).await {
        tracing::error!(error = %err, "could not record the backup run");
    }
    outcome
}

/// A restore drill, recorded whatever happens.
pub async fn run_drill(state: &AppState, hooks: &AppHooks, choice: &Choice) -> anyhow::Result<DrillReport> {
    let started_at = state.clock.now();
    let started = Instant::now();
    let report = drill::drill(&state.settings, hooks, choice).await;
    let run = match &report {
        Ok(report) => Run {
            started_at,
            duration_ms: report.restore_ms,
            ok: true,
            archive: report.archive.clone(),
            bytes: i64::try_from(report.bytes).unwrap_or(i64::MAX),
            detail: report.checks.join("; "),
        },
        Err(err) => {
            tracing::error!(event = "drill_failed", error = %format!("{err:#}"), "restore drill failed");
            state.alerts.record(&Incident::from_error(Kind::DrillFailed, err)).await;
            failed_run(started_at, started, err)
        }
    };
    if let Err(err) = status::record(&state.db, RunKind::Drill, &run).await {
        tracing::error!(error = %err, "could not record the drill run");
    }
    report
}

/// Logs an error event when backups or drills have gone stale (a schedule that silently stopped).
async fn watch(state: &AppState) -> anyhow::Result<()> {
    for warning in &status::current_warnings(state).await? {
        let kind = if warning.contains("drill") { Kind::DrillFailed } else { Kind::BackupFailed };
        tracing::error!(event = kind.as_str(), problem = %warning, "backups need attention");
        state.alerts.record(&Incident::new(kind, [warning.clone()])).await;
    }
    Ok(())
}

fn failed_run(started_at: i64, started: Instant, err: &anyhow::Error) -> Run {
    let mut detail = format!("{err:#}");
    detail.truncate(detail.char_indices().nth(500).map_or(detail.len(), |(i, _)| i));
    Run { started_at, duration_ms: millis(started), ok: false, archive: String::new(), bytes: 0, detail }
}

fn millis(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}
