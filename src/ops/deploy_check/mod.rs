//! `shoestring check --deploy`: the checks of Django's `check --deploy` that mean something
//! here, and Shoestring's own (mail, error mail, metrics, proxies, permissions, backups, the
//! database, disk), as findings in the shared report. Each group is plain functions of the
//! settings and the probes' results, testable without I/O; every probe (router, database, disk,
//! files, SMTP) is in `probe.rs`. Production `serve` and the console's dashboard run the same
//! checks without the SMTP test send.

mod email;
mod http;
mod operations;
mod probe;
mod secrets;
mod storage;

use std::path::PathBuf;

use axum::http::HeaderMap;

pub use probe::{AppRouter, at_start, before_start, command, file_mode, gather, local, smtp_test_send};

use super::report::{Finding, Report, Severity};
use super::status::BackupStatus;
use crate::kernel::config::Settings;
use crate::kernel::http::layers::SessionCookie;

/// What the probes found. A probe that did not run (`None`) leaves its checks out of the report.
#[derive(Clone, Debug, Default)]
pub struct Probes {
    pub http: Option<HttpProbe>,
    /// The applied and the latest known migration, or why the database did not answer.
    pub db: Option<Result<Migrations, String>>,
    pub disk: Option<Disk>,
    pub data_dir: Option<FileMode>,
    pub env_file: Option<FileMode>,
    pub backups: Option<Result<Backups, String>>,
    /// The SMTP server's answer to EHLO, TLS and AUTH (no mail is sent), or its error.
    pub smtp: Option<Result<(), String>>,
}

/// The record of backups and drills, and when it was read.
#[derive(Clone, Debug)]
pub struct Backups {
    pub status: BackupStatus,
    pub now: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migrations {
    pub applied: i64,
    pub latest: i64,
}

/// The built router's answers, asked in-process so the checks see what the code sends.
#[derive(Clone, Debug)]
pub struct HttpProbe {
    /// `GET /` and `GET /admin/login/`.
    pub pages: Vec<Page>,
    /// A cross-site `POST /admin/login/` (what a forged form sends).
    pub cross_site_post: Page,
    /// `GET /dev/outbox/`, the development mail viewer.
    pub dev_outbox: Page,
    /// The session cookie's attributes: a GET sets no session, so no response shows them.
    pub session_cookie: SessionCookie,
}

#[derive(Clone, Debug)]
pub struct Page {
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> impl Iterator<Item = &str> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok())
    }
}

#[derive(Clone, Debug)]
pub struct Disk {
    pub dir: PathBuf,
    pub free_mb: Result<u64, String>,
}

/// A file or folder's permission bits, or why they could not be read.
#[derive(Clone, Debug)]
pub struct FileMode {
    pub path: PathBuf,
    pub mode: Result<u32, String>,
}

/// Every check, in the order the report lists them.
pub fn findings(settings: &Settings, probes: &Probes) -> Vec<Finding> {
    let mut all = secrets::check(settings, probes);
    all.extend(http::check(probes));
    all.extend(email::check(settings, probes));
    all.extend(operations::check(settings, probes));
    all.extend(storage::check(settings, probes));
    all
}

pub fn report(settings: &Settings, probes: &Probes) -> Report {
    let mut report = Report::new("deployment checks");
    report.extend(findings(settings, probes));
    report
}

/// The findings that need attention, worst first (for the dashboard and the start-up refusal).
pub fn needing_attention(report: &Report) -> Vec<Finding> {
    let mut list: Vec<Finding> = report.findings.iter().filter(|f| f.severity > Severity::Info).cloned().collect();
    list.sort_by_key(|f| std::cmp::Reverse(f.severity));
    list
}
