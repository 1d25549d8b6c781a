//! Operations: what runs around the app rather than inside it — setting up a server; backups,
//! restores and the restore drill; copying a database between backends and media between
//! stores; and the report format every operations check prints. Uses the kernel and no app:
//! what ops needs to know about the apps (their invariants, a smoke request) arrives as
//! `AppHooks`, wired in `lib.rs`.

pub mod archive;
pub mod backup;
pub mod commands;
pub mod dbcopy;
pub mod dbinfo;
pub mod deploy;
pub mod deploy_check;
pub mod destination;
pub mod drill;
pub mod fsutil;
pub mod jobs;
pub mod mediacopy;
pub mod pgtools;
pub mod report;
pub mod restore;
pub mod retention;
pub mod server;
pub mod smoke;
pub mod snapshot;
pub mod status;

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::kernel::db::Db;
use crate::kernel::media::MediaStore;

/// A restored copy the drill checks: its database and its media.
#[derive(Clone, Debug)]
pub struct RestoredCopy {
    pub db: Db,
    pub database_url: String,
    pub media: Arc<dyn MediaStore>,
    pub media_dir: std::path::PathBuf,
}

pub type InvariantCheck = Arc<dyn Fn(RestoredCopy) -> BoxFuture<'static, anyhow::Result<Vec<String>>> + Send + Sync>;
pub type SmokeCheck = Arc<dyn Fn(RestoredCopy) -> BoxFuture<'static, anyhow::Result<String>> + Send + Sync>;

/// What the drill asks of the apps: their own invariants (each broken one described), and
/// booting the app on the copy to answer a request (what was asked and answered).
#[derive(Clone)]
pub struct AppHooks {
    pub invariants: InvariantCheck,
    pub smoke: SmokeCheck,
}

impl std::fmt::Debug for AppHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppHooks")
    }
}

/// `Db::migrate` on a blocking thread: sqlx's migrator on a borrowed connection makes a future
/// the compiler cannot prove `Send` for every lifetime, which a scheduled job's future must be.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    let db = db.clone();
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(db.migrate())).await?
}

/// Runs blocking work (compression, encryption, hashing) on its own thread at a lower CPU
/// priority, so a backup on a small machine leaves the cores to requests first.
pub async fn on_low_priority_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("shoestring-ops".into()).spawn(move || {
        #[cfg(target_os = "linux")]
        let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
        let _ = done.send(work());
    })?;
    result.await.map_err(|_| anyhow::anyhow!("the archive thread stopped unexpectedly"))
}
