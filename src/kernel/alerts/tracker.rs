//! Sentry (`SENTRY_DSN`): each incident as an event with the same scrubbed content as the mail,
//! grouped by the same signature. A client of our own rather than the global hub, so tests can
//! run apps with different DSNs side by side, and without the default integrations, which would
//! install a panic hook and collect host details we did not choose to send.

use std::sync::Arc;
use std::time::Duration;

use sentry::protocol::{Event, Exception, Level, Request, User};

use super::incident::Incident;
use crate::kernel::build_info;
use crate::kernel::clock::Clock;

pub struct Tracker(sentry::Client);

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tracker")
    }
}

impl Tracker {
    pub fn new(dsn: &str, environment: &'static str) -> anyhow::Result<Self> {
        let mut options = sentry::ClientOptions::default();
        options.dsn = Some(dsn.parse().map_err(|e| anyhow::anyhow!("SENTRY_DSN: {e}"))?);
        options.release = Some(build_info::release_name().into());
        options.environment = Some(environment.into());
        options.send_default_pii = false;
        options.default_integrations = false;
        options.transport = Some(Arc::new(sentry::transports::DefaultTransportFactory));
        Ok(Self(sentry::Client::from(options)))
    }

    pub fn capture(&self, incident: &Incident, clock: &Clock) {
        self.0.capture_event(event(incident, clock), None);
    }

    pub fn flush(&self, timeout: Duration) {
        self.0.flush(Some(timeout));
    }
}

fn event(incident: &Incident, clock: &Clock) -> Event<'static> {
    // Sentry lists the innermost exception last: the root cause is the one it titles.
    let exception: Vec<Exception> = incident
        .causes
        .iter()
        .rev()
        .map(|cause| Exception { ty: incident.kind.as_str().into(), value: Some(cause.clone()), ..Default::default() })
        .collect();
    let mut event = Event {
        level: Level::Error,
        exception: exception.into(),
        fingerprint: vec![incident.signature().into()].into(),
        transaction: Some(incident.place()),
        timestamp: std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(clock.now()).unwrap_or(0)),
        ..Default::default()
    };
    event.tags.insert("kind".into(), incident.kind.as_str().into());
    if let Some(job) = &incident.job {
        event.tags.insert("job".into(), job.clone());
    }
    if let Some(request) = &incident.request {
        event.tags.insert("request_id".into(), request.id.clone());
        event.tags.insert("status".into(), request.status.to_string());
        // The method and the route template only: no URL, query, headers, cookies or body.
        event.request = Some(Request { method: Some(request.method.clone()), ..Default::default() });
        event.user = request.user_id.clone().map(|id| User { id: Some(id), ..Default::default() });
    }
    event
}
