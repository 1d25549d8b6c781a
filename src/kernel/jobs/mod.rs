//! A durable job queue in the database. Apps enqueue inside their own transaction, so a job
//! exists exactly when the change that caused it was committed. The worker claims one job at a
//! time, retries failures with exponential backoff, gives up after `max_attempts` (status
//! `dead`), and puts back jobs whose worker died: a running job holds a short lease that its
//! worker renews while it works, so a job cut off by a crash runs again within seconds. A worker
//! asked to stop claims nothing more, lets its running job finish within a grace period, and
//! otherwise gives the job back to the queue, so another process runs it at once.
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
        self.run_due_unless_stopped(None).await
    }

    async fn run_due_unless_stopped(&self, stop: Option<&Stop>) -> anyhow::Result<usize> {
        store::requeue_orphans(&self.db, self.clock.now() - LEASE_SECS).await?;
        schedule::enqueue_due(&self.db, &self.registry.schedules, self.clock.now()).await?;
        let mut ran = 0;
        while !stop.is_some_and(Stop::requested) {
            let Some(job) = store::claim_job(&self.db, self.clock.now()).await? else { break };
            self.execute(job, stop).await?;
            ran += 1;
        }
        Ok(ran)
    }

    async fn execute(&self, job: store::ClaimedJob, stop: Option<&Stop>) -> anyhow::Result<()> {
        let _lease = self.keep_lease(job.id);
        let work = self.handle(&job);
        let outcome = match stop {
            None => work.await,
            Some(stop) => tokio::select! {
                outcome = work => outcome,
                () = stop.grace_over() => {
                    tracing::warn!(job_id = job.id, kind = %job.kind, "job still running at shutdown: given back to the queue");
                    store::release_job(&self.db, job.id, self.clock.now()).await?;
                    return Ok(());
                }
            },
        };
        match outcome {
            Ok(()) => {
                store::delete_job(&self.db, job.id).await?;
                // The record that it ran: with several instances, which one ran it.
                tracing::info!(job_id = job.id, kind = %job.kind, "job done");
            }
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

    /// The run of `job` by its kind's handler.
    fn handle(&self, job: &store::ClaimedJob) -> JobFuture {
        let Some(handler) = self.registry.handlers.get(job.kind.as_str()) else {
            let kind = job.kind.clone();
            return Box::pin(async move { Err(anyhow::anyhow!("no handler for job kind {kind}")) });
        };
        match serde_json::from_str(&job.payload) {
            Ok(payload) => handler(Job { id: job.id, attempt: job.attempts, created_at: job.created_at, payload }),
            Err(e) => Box::pin(std::future::ready(Err(anyhow::anyhow!("unreadable payload: {e}")))),
        }
    }

    /// Renews the lease of running job `id` until the returned guard is dropped (when the job
    /// ends, or when the worker is cut off mid-job without a chance to give the job back: then
    /// the lease runs out and another worker takes the job).
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

    /// The worker loop: poll every second until `shutdown` turns true. A job running then gets
    /// `grace` to finish before it is given back to the queue.
    pub async fn run(self, shutdown: watch::Receiver<bool>, grace: Duration) {
        let stop = Stop { signal: shutdown, grace };
        schedule::register(&self.db, &self.registry.schedules, self.clock.now()).await.ok();
        while !stop.requested() {
            if let Err(error) = self.run_due_unless_stopped(Some(&stop)).await {
                tracing::error!(error = %error, "job worker error");
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = stop.asked() => {}
            }
        }
    }

    pub async fn register_schedules(&self) -> anyhow::Result<()> {
        schedule::register(&self.db, &self.registry.schedules, self.clock.now()).await
    }
}

/// A stopping worker's signal and how long its running job may still take.
struct Stop {
    signal: watch::Receiver<bool>,
    grace: Duration,
}

impl Stop {
    /// True once stopping is asked for, or once nothing can ask any more (the sender is gone).
    fn requested(&self) -> bool {
        *self.signal.borrow() || self.signal.has_changed().is_err()
    }

    /// Resolves once stopping is asked for (or its sender is gone).
    async fn asked(&self) {
        let _ = self.signal.clone().wait_for(|stop| *stop).await;
    }

    async fn grace_over(&self) {
        self.asked().await;
        tokio::time::sleep(self.grace).await;
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
