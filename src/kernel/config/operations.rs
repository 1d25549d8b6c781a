//! Settings for running the app in production: who gets error mail, where metrics are served,
//! error tracking, and what readiness tolerates.

use std::net::SocketAddr;

use clap::Args;

use super::{ConfigError, Secret, problem};

#[derive(Clone, Debug, Args)]
pub struct OperationsSettings {
    /// Who gets error mail (new 5xx errors, panics, dead jobs, failed backups and drills):
    /// comma-separated `Name <address>` or plain addresses. Unset: no error mail.
    #[arg(long, env = "ADMINS", value_delimiter = ',', global = true)]
    pub admins: Vec<String>,
    /// After the first mail about an error, at most one digest (with the count) per error and
    /// interval, in minutes.
    #[arg(long, env = "ERROR_MAIL_INTERVAL_MINUTES", default_value_t = 60, global = true)]
    pub error_mail_interval_minutes: i64,
    /// Error mails at most per hour, all errors together.
    #[arg(long, env = "ERROR_MAIL_HOURLY_CAP", default_value_t = 20, global = true)]
    pub error_mail_hourly_cap: u32,
    /// Where Prometheus metrics are served (`/metrics`), apart from the app; `off` for none.
    /// Production refuses a non-loopback address without METRICS_TOKEN.
    #[arg(long, env = "METRICS_BIND", default_value = "127.0.0.1:9100", global = true)]
    pub metrics_bind: MetricsBind,
    /// A bearer token `/metrics` requires (`Authorization: Bearer …`), when set.
    #[arg(long, env = "METRICS_TOKEN", global = true)]
    pub metrics_token: Option<Secret>,
    /// Sentry's DSN: errors and panics go there too (scrubbed as error mail is).
    #[arg(long, env = "SENTRY_DSN", global = true)]
    pub sentry_dsn: Option<Secret>,
    /// The environment file these settings are kept in (systemd's EnvironmentFile), if any:
    /// `check --deploy` makes sure no other user can read or change it.
    #[arg(long, env = "ENV_FILE", global = true)]
    pub env_file: Option<std::path::PathBuf>,
    /// `/readyz` fails when the oldest due job has waited longer than this many seconds.
    #[arg(long, env = "READY_MAX_JOB_DELAY_SECS", default_value_t = 300, global = true)]
    pub ready_max_job_delay_secs: i64,
    /// `/readyz` fails when the data folder's disk has less free space than this, in MiB.
    #[arg(long, env = "READY_MIN_FREE_MB", default_value_t = 100, global = true)]
    pub ready_min_free_mb: u64,
    /// While this file exists `/up` answers 503 "draining", so a load balancer's health check
    /// sends this instance nothing more (a deploy sets it before a restart; `server setup` names
    /// one per instance of a site with several).
    #[arg(long, env = "DRAIN_FILE", global = true)]
    pub drain_file: Option<std::path::PathBuf>,
}

/// The metrics listener's address, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsBind(pub Option<SocketAddr>);

impl std::str::FromStr for MetricsBind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("off") {
            return Ok(Self(None));
        }
        s.trim().parse().map(|addr| Self(Some(addr))).map_err(|_| format!("not an address: {s}"))
    }
}

impl OperationsSettings {
    pub fn validate(&self, production: bool) -> Result<(), ConfigError> {
        for admin in &self.admins {
            if admin.trim().parse::<lettre::message::Mailbox>().is_err() {
                return Err(problem("ADMINS", format!("not an address: {admin}")));
            }
        }
        if self.error_mail_interval_minutes < 1 {
            return Err(problem("ERROR_MAIL_INTERVAL_MINUTES", "must be at least 1"));
        }
        let public = self.metrics_bind.0.is_some_and(|addr| !addr.ip().is_loopback());
        if production && public && self.metrics_token.is_none() {
            return Err(problem("METRICS_BIND", "a non-loopback metrics address needs METRICS_TOKEN"));
        }
        Ok(())
    }
}
