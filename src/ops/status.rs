//! The record of backups and drills (`backup_runs`) and what it means now: the last backup and
//! the last drill (time, size, duration, ok), and warnings when one failed or none succeeded
//! recently. `/readyz`, the error mail and the console dashboard read `backup_status`.

use sqlx::Row;

use crate::kernel::db::{Db, get_flag};

/// No successful drill for this long is an alarm (a weekly drill may miss one run).
pub const DRILL_MAX_AGE_SECS: i64 = 8 * 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    Backup,
    Drill,
}

impl RunKind {
    fn as_str(self) -> &'static str {
        match self {
            RunKind::Backup => "backup",
            RunKind::Drill => "drill",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub started_at: i64,
    pub duration_ms: i64,
    pub ok: bool,
    pub archive: String,
    pub bytes: i64,
    pub detail: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupStatus {
    pub last_backup: Option<Run>,
    pub last_good_backup: Option<Run>,
    pub last_drill: Option<Run>,
    pub last_good_drill: Option<Run>,
    /// Empty when all is well; otherwise one sentence per problem.
    pub warnings: Vec<String>,
}

impl BackupStatus {
    pub fn is_healthy(&self) -> bool {
        self.warnings.is_empty()
    }
}

pub async fn record(db: &Db, kind: RunKind, run: &Run) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO backup_runs (kind, started_at, duration_ms, ok, archive, bytes, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(kind.as_str())
    .bind(run.started_at)
    .bind(run.duration_ms)
    .bind(run.ok)
    .bind(&run.archive)
    .bind(run.bytes)
    .bind(&run.detail)
    .execute(&db.pool)
    .await?;
    Ok(())
}

async fn last(db: &Db, kind: RunKind, only_ok: bool) -> sqlx::Result<Option<Run>> {
    let row = if only_ok {
        sqlx::query(
            "SELECT started_at, duration_ms, ok, archive, bytes, detail FROM backup_runs \
             WHERE kind = $1 AND ok = $2 ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .bind(kind.as_str())
        .bind(true)
        .fetch_optional(&db.pool)
        .await?
    } else {
        sqlx::query(
            "SELECT started_at, duration_ms, ok, archive, bytes, detail FROM backup_runs \
             WHERE kind = $1 ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .bind(kind.as_str())
        .fetch_optional(&db.pool)
        .await?
    };
    row.map(|row| {
        Ok(Run {
            started_at: row.try_get("started_at")?,
            duration_ms: row.try_get("duration_ms")?,
            ok: get_flag(&row, "ok")?,
            archive: row.try_get("archive")?,
            bytes: row.try_get("bytes")?,
            detail: row.try_get("detail")?,
        })
    })
    .transpose()
}

/// What is wrong with backups now, judged against this deployment's schedules (for `/readyz`).
pub async fn current_warnings(state: &crate::kernel::AppState) -> sqlx::Result<Vec<String>> {
    let storage = &state.settings.storage;
    let status =
        backup_status(&state.db, state.clock.now(), storage.backup_every_secs(), storage.drill_every_secs().is_some())
            .await?;
    Ok(status.warnings)
}

/// The last backup and drill and what is wrong now. `backup_every` is the backup schedule in
/// seconds (`None` when backups are not scheduled: then staleness is not judged).
pub async fn backup_status(db: &Db, now: i64, backup_every: Option<i64>, drills: bool) -> sqlx::Result<BackupStatus> {
    let status = BackupStatus {
        last_backup: last(db, RunKind::Backup, false).await?,
        last_good_backup: last(db, RunKind::Backup, true).await?,
        last_drill: last(db, RunKind::Drill, false).await?,
        last_good_drill: last(db, RunKind::Drill, true).await?,
        warnings: Vec::new(),
    };
    Ok(judge(status, now, backup_every, drills))
}

fn judge(mut status: BackupStatus, now: i64, backup_every: Option<i64>, drills: bool) -> BackupStatus {
    let mut warnings = Vec::new();
    if let Some(run) = status.last_backup.as_ref().filter(|r| !r.ok) {
        warnings.push(format!("the last backup failed: {}", run.detail));
    }
    if let Some(every) = backup_every {
        // Two missed runs (with an hour's slack) mean the schedule is not working.
        let stale = status.last_good_backup.as_ref().is_none_or(|r| now - r.started_at > 2 * every + 3600);
        if stale {
            warnings.push("no successful backup in the last two scheduled periods".into());
        }
    }
    if let Some(run) = status.last_drill.as_ref().filter(|r| !r.ok) {
        warnings.push(format!("the last restore drill failed: {}", run.detail));
    }
    if drills && status.last_good_drill.as_ref().is_none_or(|r| now - r.started_at > DRILL_MAX_AGE_SECS) {
        warnings.push("no successful restore drill in the last 8 days".into());
    }
    status.warnings = warnings;
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(started_at: i64, ok: bool) -> Run {
        Run { started_at, duration_ms: 1000, ok, archive: "a".into(), bytes: 1, detail: "disk full".into() }
    }

    const NOW: i64 = 2_000_000_000;
    const DAY: i64 = 86_400;

    #[test]
    fn recent_good_runs_give_no_warning() {
        let status = BackupStatus {
            last_backup: Some(run(NOW - DAY / 2, true)),
            last_good_backup: Some(run(NOW - DAY / 2, true)),
            last_drill: Some(run(NOW - 3 * DAY, true)),
            last_good_drill: Some(run(NOW - 3 * DAY, true)),
            warnings: Vec::new(),
        };
        assert!(judge(status, NOW, Some(DAY), true).is_healthy());
    }

    #[test]
    fn a_failed_backup_and_an_old_drill_are_both_reported() {
        let status = BackupStatus {
            last_backup: Some(run(NOW - 60, false)),
            last_good_backup: Some(run(NOW - DAY / 2, true)),
            last_drill: Some(run(NOW - 9 * DAY, true)),
            last_good_drill: Some(run(NOW - 9 * DAY, true)),
            warnings: Vec::new(),
        };
        let judged = judge(status, NOW, Some(DAY), true);
        assert_eq!(judged.warnings.len(), 2, "{:?}", judged.warnings);
        assert!(judged.warnings[0].contains("disk full"));
        assert!(judged.warnings[1].contains("8 days"));
    }

    #[test]
    fn a_schedule_that_never_ran_is_a_warning() {
        let judged = judge(BackupStatus::default(), NOW, Some(DAY), false);
        assert_eq!(judged.warnings, vec!["no successful backup in the last two scheduled periods".to_owned()]);
    }
}
