//! Error mail and error tracking. `ADMINS` hear of each new server error, panic, dead job and
//! failed backup or drill, grouped by signature (the same error in the same place): the first
//! occurrence at once, then at most one digest with the count per signature and interval, and
//! never more than `ERROR_MAIL_HOURLY_CAP` mails an hour in all (Django mails every 500, and a
//! bad deploy sends thousands). Mail goes through the job queue, so an SMTP outage delays it and
//! loses nothing; groups live in the database, so several copies of the app mail an error once.
//! With `SENTRY_DSN`, every incident also goes to Sentry, scrubbed the same way.

mod incident;
pub mod mail;
mod store;
mod tracker;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

pub use incident::{Incident, Kind, RequestInfo, scrub};
use tracker::Tracker;

use crate::kernel::AppState;
use crate::kernel::build_info;
use crate::kernel::clock::Clock;
use crate::kernel::config::Settings;
use crate::kernel::db::{Db, Tx};
use crate::kernel::email::Message;
use crate::kernel::jobs::{Registry, Schedule};

/// The job that sends one error mail to one admin.
pub const MAIL_JOB: &str = "alerts.mail";
/// The scheduled job that sends digests of errors that happened again.
pub const DIGEST_JOB: &str = "alerts.digest";
/// How often digests are looked for.
pub const DIGEST_EVERY_SECS: i64 = 60;
/// Reports being written at once; beyond that a flood of errors is only logged, so error mail
/// never competes with requests for database connections.
const MAX_IN_FLIGHT: usize = 4;
/// Groups are forgotten after a week of quiet (the next occurrence mails as new again).
const KEEP_GROUPS_SECS: i64 = 7 * 86_400;

#[derive(Clone, Debug)]
pub struct Alerts(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Db,
    clock: Clock,
    admins: Vec<String>,
    interval_secs: i64,
    hourly_cap: i64,
    site: String,
    tracker: Option<Tracker>,
    in_flight: Arc<Semaphore>,
}

/// One error mail to one admin, as queued.
#[derive(Debug, Serialize, Deserialize)]
pub struct AlertMail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// The job that mails and the schedule that sends digests.
pub fn register_jobs(registry: &mut Registry, state: &AppState) {
    let mail_state = state.clone();
    registry.handle(MAIL_JOB, move |job| {
        let state = mail_state.clone();
        async move {
            let mail: AlertMail = serde_json::from_value(job.payload.clone())?;
            let message = Message {
                to: mail.to,
                subject: mail.subject,
                text: mail.text,
                html: String::new(),
                id: Some(job.key()),
            };
            state.send_email(&message).await
        }
    });
    let alerts = state.alerts.clone();
    registry.handle(DIGEST_JOB, move |_| {
        let alerts = alerts.clone();
        async move { alerts.send_digests().await.map(|_| ()) }
    });
    registry.schedule(Schedule { name: DIGEST_JOB, every_secs: DIGEST_EVERY_SECS, kind: DIGEST_JOB });
}

impl Alerts {
    pub fn new(settings: &Settings, db: Db, clock: Clock) -> anyhow::Result<Self> {
        let ops = &settings.operations;
        let tracker = ops
            .sentry_dsn
            .as_ref()
            .map(|dsn| Tracker::new(dsn.expose(), if settings.is_production() { "production" } else { "development" }))
            .transpose()?;
        let site = settings.base_url();
        let site = site.split_once("://").map_or(site.as_str(), |(_, host)| host).trim_end_matches('/').to_owned();
        Ok(Self(Arc::new(Inner {
            db,
            clock,
            admins: ops.admins.iter().map(|a| a.trim().to_owned()).collect(),
            interval_secs: ops.error_mail_interval_minutes * 60,
            hourly_cap: i64::from(ops.error_mail_hourly_cap),
            site,
            tracker,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })))
    }

    /// Whether anyone hears of incidents (mail or tracker).
    pub fn enabled(&self) -> bool {
        !self.0.admins.is_empty() || self.0.tracker.is_some()
    }

    /// Reports in the background (the caller is answering a request). A flood beyond a few
    /// reports at once is dropped here: its errors are in the log, and the group's count runs on
    /// with the reports that do get through.
    pub fn report(&self, incident: Incident) {
        if !self.enabled() {
            return;
        }
        let Ok(permit) = self.0.in_flight.clone().try_acquire_owned() else {
            tracing::warn!(event = "alert_dropped", kind = incident.kind.as_str(), "too many error reports at once");
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            this.record(&incident).await;
            drop(permit);
        });
    }

    /// Reports now: sends to the tracker, counts the occurrence and queues the first mail.
    pub async fn record(&self, incident: &Incident) {
        if let Some(tracker) = &self.0.tracker {
            tracker.capture(incident, &self.0.clock);
        }
        if self.0.admins.is_empty() {
            return;
        }
        if let Err(err) = self.count_and_mail(incident).await {
            tracing::error!(event = "alert_unrecorded", error = %format!("{err:#}"), "could not record an error for the error mail");
        }
    }

    async fn count_and_mail(&self, incident: &Incident) -> anyhow::Result<()> {
        let now = self.0.clock.now();
        let subject = mail::subject(&self.0.site, incident);
        let report = mail::report(incident, &mail::when(now), &build_info::release_name());
        let signature = incident.signature();
        let mut tx = self.0.db.begin_write().await?;
        let new = store::count(&mut tx, &signature, &subject, &report, now).await?;
        if new && self.room(&mut tx, now).await? > 0 {
            self.queue(&mut tx, &signature, 1, now, &subject, &mail::first_mail(&report)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Mails of the hourly cap still unsent.
    async fn room(&self, tx: &mut Tx, now: i64) -> sqlx::Result<i64> {
        Ok(self.0.hourly_cap - store::mails_since(tx, now - 3600).await?)
    }

    async fn queue(
        &self,
        tx: &mut Tx,
        signature: &str,
        occurrences: i64,
        now: i64,
        subject: &str,
        text: &str,
    ) -> anyhow::Result<()> {
        store::mark_mailed(tx, signature, occurrences, now).await?;
        for admin in &self.0.admins {
            let mail = AlertMail { to: admin.clone(), subject: subject.to_owned(), text: text.to_owned() };
            crate::kernel::jobs::enqueue(tx, MAIL_JOB, &mail, now).await?;
        }
        Ok(())
    }

    /// Queues one digest per group that happened again and has had no mail for an interval,
    /// within the hourly cap; forgets old records. Run by the `alerts.digest` schedule.
    pub async fn send_digests(&self) -> anyhow::Result<usize> {
        if self.0.admins.is_empty() {
            return Ok(0);
        }
        let now = self.0.clock.now();
        let mut tx = self.0.db.begin_write().await?;
        store::prune(&mut tx, now, KEEP_GROUPS_SECS).await?;
        let room = self.room(&mut tx, now).await?;
        let due =
            if room > 0 { store::due_for_digest(&mut tx, now - self.0.interval_secs, room).await? } else { vec![] };
        for group in &due {
            // A group the cap held back has never been mailed: it goes out as a new error.
            let (subject, text) = if group.unmailed == group.occurrences {
                (group.subject.clone(), mail::first_mail(&group.report))
            } else {
                let text = mail::digest_mail(
                    &group.report,
                    group.unmailed,
                    group.occurrences,
                    &mail::when(group.first_seen),
                    &mail::when(group.last_seen),
                );
                (format!("{} ({} more)", group.subject, group.unmailed), text)
            };
            self.queue(&mut tx, &group.signature, group.occurrences, now, &subject, &text).await?;
        }
        tx.commit().await?;
        Ok(due.len())
    }

    /// Waits for queued tracker events to leave (at shutdown), at most `timeout`.
    pub fn flush(&self, timeout: std::time::Duration) {
        if let Some(tracker) = &self.0.tracker {
            tracker.flush(timeout);
        }
    }
}
