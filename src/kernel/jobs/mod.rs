//! A durable job queue in the database. Apps enqueue inside their own transaction, so a job
//! exists exactly when the change that caused it was committed. The worker claims one job at a
//! time, retries failures with exponential backoff, gives up after `max_attempts` (status
//! `dead`), and puts back jobs whose worker died: a running job holds a short lease that its
//! worker renews while it works, so a job cut off by a crash runs again within seconds.
//! Delivery is at least once; `Job::key` lets a side effect recognise a repeat.

mod schedule;
mod store;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::kernel::alerts::{self, Alerts, Incident, Kind};
use crate::kernel::clock::Clock;
use crate::kernel::db::{Db, Tx};

pub use schedule::Schedule;

pub type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;
pub type Handler = Arc<dyn Fn(Job) -> JobFuture + Send + Sync>;

const DEFAULT_MAX_ATTEMPTS: i64 = 8;
/// A running job whose lease was not renewed for this long was cut off (its worker died).
pub const LEASE_SECS: i64 = 15;
/// The worker renews a running job's lease this often.
const RENEW_EVERY: Duration = Duration::from_secs(5);

/// One run of a job, as its handler gets it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    /// 1 for the first run, 2 for the first retry, …
    pub attempt: i64,
    pub created_at: i64,
    pub payload: serde_json::Value,
}

impl Job {
    /// The same for every run of this job and different for any other job of this database:
    /// e.g. the `Message-ID` of the email it sends, so a repeated delivery is recognisable.
    pub fn key(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }
}

/// How many jobs are `queued`, `running`, `failed` (queued again after a failed attempt) and
/// `dead`, for metrics.
pub async fn counts(db: &Db) -> sqlx::Result<Vec<(&'static str, i64)>> {
    let (queued, running, failed, dead) = store::counts(db).await?;
    Ok(vec![("queued", queued), ("running", running), ("failed", failed), ("dead", dead)])
}

/// When the oldest job that is due became due (`None`: nothing waits), for readiness.
pub async fn oldest_due(db: &Db, now: i64) -> sqlx::Result<Option<i64>> {
    store::oldest_due(db, now).await
}

/// Adds a job to the queue as part of the caller's transaction.
pub async fn enqueue(tx: &mut Tx, kind: &str, payload: &impl Serialize, now: i64) -> anyhow::Result<()> {
    let payload = serde_json::to_string(payload)?;
    store::insert_job(tx, kind, &payload, DEFAULT_MAX_ATTEMPTS, now).await?;
    Ok(())
}

/// The job kinds this process can run, and the schedules that create jobs.
#[derive(Default, Clone)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
    schedules: Vec<Schedule>,
}

impl Registry {
    pub fn handle<F, Fut>(&mut self, kind: &'static str, handler: F)
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.handlers.insert(kind, Arc::new(move |payload| Box::pin(handler(payload))));
    }

    pub fn schedule(&mut self, schedule: Schedule) {
        self.schedules.push(schedule);
    }
}

#[derive(Clone)]
pub struct Worker {
    db: Db,
    clock: Clock,
    registry: Arc<Registry>,
    alerts: Option<Alerts>,
}

impl Worker {
    pub fn new(db: Db, clock: Clock, registry: Registry) -> Self {
        Self { db, clock, registry: Arc::new(registry), alerts: None }
    }

    /// Reports jobs that fail their last attempt.
    pub fn reporting_to(mut self, alerts: Alerts) -> Self {
        self.alerts = Some(alerts);
        self
    }

    /// Runs every job that is due now, one after the other; returns how many ran.
    pub async fn run_due(&self) -> anyhow::Result<usize> {
        store::requeue_orphans(&self.db, self.clock.now() - LEASE_SECS).await?;
        schedule::enqueue_due(&self.db, &self.registry.schedules, self.clock.now()).await?;
        let mut ran = 0;
        while let Some(job) = store::claim_job(&self.db, self.clock.now()).await? {
            self.execute(job).await?;
            ran += 1;
        }
        Ok(ran)
    }

    async fn execute(&self, job: store::ClaimedJob) -> anyhow::Result<()> {
        let _lease = self.keep_lease(job.id);
        let outcome = match self.registry.handlers.get(job.kind.as_str()) {
            Some(handler) => match serde_json::from_str(&job.payload) {
                Ok(payload) => {
                    let run = Job { id: job.id, attempt: job.attempts, created_at: job.created_at, payload };
                    handler(run).await
                }
                Err(e) => Err(anyhow::anyhow!("unreadable payload: {e}")),
            },
            None => Err(anyhow::anyhow!("no handler for job kind {}", job.kind)),
        };
        match outcome {
            Ok(()) => store::delete_job(&self.db, job.id).await?,
            Err(error) => {
                let dead = job.attempts >= job.max_attempts;
                tracing::warn!(job_id = job.id, kind = %job.kind, attempt = job.attempts, dead, error = %error, "job failed");
                let retry_at = self.clock.now() + backoff_secs(job.attempts);
                store::fail_job(&self.db, job.id, dead, retry_at, &format!("{error:#}")).await?;
                // A dead error mail is only logged: mailing about it could loop.
                if let Some(alerts) = self.alerts.as_ref().filter(|_| dead && job.kind != alerts::MAIL_JOB) {
                    alerts.record(&Incident::from_error(Kind::DeadJob, &error).in_job(&job.kind)).await;
                }
            }
        }
        Ok(())
    }

    /// Renews the lease of running job `id` until the returned guard is dropped (when the job
    /// ends, or when the worker itself is stopped mid-job: then the lease runs out and another
    /// worker takes the job).
    fn keep_lease(&self, id: i64) -> LeaseGuard {
        let (db, clock) = (self.db.clone(), self.clock.clone());
        LeaseGuard(tokio::spawn(async move {
            let mut every = tokio::time::interval(RENEW_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                if let Err(error) = store::renew_lease(&db, id, clock.now()).await {
                    tracing::warn!(job_id = id, error = %error, "could not renew a job's lease");
                }
            }
        }))
    }

    /// The worker loop: poll every second until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        schedule::register(&self.db, &self.registry.schedules, self.clock.now()).await.ok();
        loop {
            if let Err(error) = self.run_due().await {
                tracing::error!(error = %error, "job worker error");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    pub async fn register_schedules(&self) -> anyhow::Result<()> {
        schedule::register(&self.db, &self.registry.schedules, self.clock.now()).await
    }
}

/// Stops renewing a lease when dropped.
struct LeaseGuard(tokio::task::JoinHandle<()>);

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// 10 s, 20 s, 40 s, … capped at an hour.
fn backoff_secs(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 12) - 1).unwrap_or(0);
    (10 * 2_i64.pow(exp)).min(3600)
}

#[cfg(test)]
mod tests {
    use super::backoff_secs;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!((backoff_secs(1), backoff_secs(2), backoff_secs(3)), (10, 20, 40));
        assert_eq!(backoff_secs(30), 3600);
    }
}
