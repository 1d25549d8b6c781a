//! The restore drill as the scheduler runs it: backups and drills recorded with their times, a
//! drill that catches a broken app invariant in an archive, and the status the console and
//! readiness checks read.

use shoestring::ops::drill::Choice;
use shoestring::ops::{jobs, status};

use super::support::{self, png, publish};
use crate::support::{TempDir, TestApp};

const DAY: i64 = 86_400;

async fn app_backing_up_to(dir: &TempDir) -> (TestApp, crate::support::Browser) {
    let app = TestApp::spawn_with(|s| {
        s.storage.backup_to = Some(dir.0.display().to_string());
        s.storage.backup_work_dir = support::work_dir();
        s.rate_limits = false;
    })
    .await;
    let (_, writer) = app.logged_in("writer").await;
    (app, writer)
}

async fn status_now(app: &TestApp) -> status::BackupStatus {
    let storage = &app.state.settings.storage;
    status::backup_status(&app.state.db, app.clock().now(), storage.backup_every_secs(), true).await.unwrap()
}

#[tokio::test]
async fn the_scheduler_backs_up_daily_drills_weekly_and_records_both() {
    let backups = TempDir::new("backups");
    let (app, writer) = app_backing_up_to(&backups).await;
    assert_eq!(publish(&writer, "scheduled", Some(png(2))).await, 201);
    shoestring::worker(&app.state).register_schedules().await.unwrap();
    assert!(!status_now(&app).await.is_healthy(), "nothing has run yet");

    for _ in 0..7 {
        app.clock().advance(DAY);
        app.run_jobs().await;
    }

    let now = status_now(&app).await;
    assert!(now.is_healthy(), "{:?}", now.warnings);
    let drill = now.last_drill.expect("a drill ran in the first week");
    assert!(drill.ok && drill.duration_ms > 0 && drill.archive.starts_with("shoestring-"), "{drill:?}");
    assert!(drill.detail.contains("smoke: GET /posts/ 200"), "{}", drill.detail);
    let backup = now.last_backup.unwrap();
    assert!(backup.ok && backup.bytes > 0);
    let runs = app.scalar_i64("SELECT COUNT(*) FROM backup_runs WHERE kind = 'backup' AND ok = TRUE").await;
    assert_eq!(runs, 7, "one backup a day");

    app.clock().advance(9 * DAY);
    let stale = status::backup_status(&app.state.db, app.clock().now(), Some(DAY), true).await.unwrap();
    assert_eq!(stale.warnings.len(), 2, "{:?}", stale.warnings);
}

#[tokio::test]
async fn a_drill_fails_on_an_archive_whose_like_counts_are_wrong_and_the_failure_is_recorded() {
    let backups = TempDir::new("backups");
    let (app, writer) = app_backing_up_to(&backups).await;
    assert_eq!(publish(&writer, "liked", None).await, 201);
    sqlx::query("UPDATE posts SET like_count = 3").execute(&app.state.db.pool).await.unwrap();
    let done = jobs::run_backup(&app.state, None).await.unwrap();

    let archive = backups.0.join(&done.name).display().to_string();
    let err =
        jobs::run_drill(&app.state, &shoestring::ops_hooks(&app.state), &Choice::Named(archive)).await.unwrap_err();

    assert!(format!("{err:#}").contains("like_count"), "{err:#}");
    let now = status_now(&app).await;
    assert!(!now.last_drill.unwrap().ok);
    assert!(now.warnings.iter().any(|w| w.contains("drill failed") && w.contains("like_count")), "{:?}", now.warnings);
}
