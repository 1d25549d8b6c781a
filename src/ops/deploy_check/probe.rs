//! Every probe of the deployment checks, and where they run: the command (`check --deploy`,
//! with the SMTP test send), production start (`before_start` on the settings alone, `at_start`
//! once the app is built) and the console (`gather`). The router is asked in-process; no probe
//! changes anything (the cross-site POST is refused before any handler).

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, header};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use tower::ServiceExt;

use super::{Backups, Disk, FileMode, HttpProbe, Migrations, Page, Probes, needing_attention, report};
use crate::kernel::AppState;
use crate::kernel::clock::Clock;
use crate::kernel::config::{Settings, strip_port};
use crate::kernel::db::Db;
use crate::kernel::http::layers::session_cookie;
use crate::ops::report::{Finding, Report, Severity};

/// How long the SMTP test send may take: the command should answer quickly.
const SMTP_TIMEOUT: Duration = Duration::from_secs(5);
const DB_TIMEOUT: Duration = Duration::from_secs(2);

/// Builds the whole app's router (`lib.rs::app`): handed to ops and the console, which
/// import no app themselves.
#[derive(Clone, Copy)]
pub struct AppRouter(pub fn(AppState) -> Router);

impl std::fmt::Debug for AppRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppRouter")
    }
}

/// The probes that need only the settings and the file system.
pub fn local(settings: &Settings) -> Probes {
    Probes {
        data_dir: Some(file_mode(&settings.data_dir())),
        env_file: settings.operations.env_file.as_deref().map(file_mode),
        ..Probes::default()
    }
}

/// Every probe but the SMTP test send, on a running app.
pub async fn gather(state: &AppState, router: Router) -> Probes {
    let mut probes = local(&state.settings);
    let db = migrations(&state.db).await;
    // The record of backups is a table: an unmigrated database has none to read yet.
    if db.as_ref().is_ok_and(|m| m.applied >= m.latest) {
        probes.backups = Some(backups(state).await);
    }
    probes.db = Some(db);
    probes.disk = Some(disk(&state.settings));
    probes.http = Some(http(&state.settings, router).await);
    probes
}

/// `shoestring check --deploy`: all the checks, with the SMTP test send unless `--offline`. Settings the app
/// refuses still get a report (the checks name what is wrong), with the app's own reason.
pub async fn command(settings: Settings, app: AppRouter, smtp_test: bool) -> Report {
    let smtp = if smtp_test { smtp_test_send(&settings).await } else { None };
    let mut probes = local(&settings);
    let built = AppState::build(settings.clone(), Clock::default()).await;
    if let Ok(state) = &built {
        probes = gather(state, (app.0)(state.clone())).await;
    }
    probes.smtp = smtp;
    let mut report = report(&settings, &probes);
    if let Err(err) = built {
        report.push(Finding::error(
            "OPS-SETTINGS",
            format!("{err:#}"),
            "fix the setting named; nothing else was probed",
        ));
    }
    report
}

/// Production start, before anything is opened: refuses settings with errors, naming them all.
pub fn before_start(settings: &Settings) -> anyhow::Result<()> {
    if !settings.is_production() {
        return Ok(());
    }
    refuse_on_errors(&report(settings, &local(settings)))
}

/// Production start, migrated and about to serve: refuses on errors; logs each warning once.
pub async fn at_start(state: &AppState, app: AppRouter) -> anyhow::Result<()> {
    if !state.settings.is_production() {
        return Ok(());
    }
    let report = report(&state.settings, &gather(state, (app.0)(state.clone())).await);
    refuse_on_errors(&report)?;
    for finding in needing_attention(&report) {
        tracing::warn!(event = "deploy_check", id = %finding.id, fix = %finding.fix, "{}", finding.message);
    }
    Ok(())
}

fn refuse_on_errors(report: &Report) -> anyhow::Result<()> {
    let errors: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("  {}: {} (fix: {})", f.id, f.message, f.fix))
        .collect();
    anyhow::ensure!(
        errors.is_empty(),
        "refusing to start in production; the deployment checks found:\n{}\n(`shoestring check --deploy` shows them all)",
        errors.join("\n")
    );
    Ok(())
}

pub fn file_mode(path: &Path) -> FileMode {
    let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o7777).map_err(|e| e.to_string());
    FileMode { path: path.to_owned(), mode }
}

/// Reachable within the timeout, then how far migrated (a database never migrated has no
/// migrations table: it is at 0).
async fn migrations(db: &Db) -> Result<Migrations, String> {
    let ping = sqlx::query("SELECT 1").execute(&db.pool);
    match tokio::time::timeout(DB_TIMEOUT, ping).await {
        Err(_) => return Err(format!("no answer within {} s", DB_TIMEOUT.as_secs())),
        Ok(Err(err)) => return Err(err.to_string()),
        Ok(Ok(_)) => {}
    }
    let applied = tokio::time::timeout(DB_TIMEOUT, db.applied_migration()).await;
    Ok(Migrations { applied: applied.ok().and_then(Result::ok).unwrap_or(0), latest: Db::latest_migration(db.backend) })
}

fn disk(settings: &Settings) -> Disk {
    let dir = settings.data_dir();
    // Before the first upload the media folder may not exist yet: its disk is its parent's.
    let measured = dir.ancestors().find(|d| d.exists()).unwrap_or(Path::new("/"));
    let free_mb = rustix::fs::statvfs(measured)
        .map(|stat| stat.f_bavail.saturating_mul(stat.f_frsize) / (1024 * 1024))
        .map_err(|e| e.to_string());
    Disk { dir, free_mb }
}

async fn backups(state: &AppState) -> Result<Backups, String> {
    let storage = &state.settings.storage;
    let now = state.clock.now();
    let drills = storage.drill_every_secs().is_some();
    crate::ops::status::backup_status(&state.db, now, storage.backup_every_secs(), drills)
        .await
        .map(|status| Backups { status, now })
        .map_err(|e| e.to_string())
}

/// EHLO, TLS and AUTH against SMTP_URL, then NOOP (lettre's `test_connection`): proof the
/// settings work, with no mail delivered.
pub async fn smtp_test_send(settings: &Settings) -> Option<Result<(), String>> {
    let url = settings.smtp_url.as_ref()?;
    let transport: AsyncSmtpTransport<Tokio1Executor> =
        match AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose()) {
            Ok(builder) => builder.timeout(Some(SMTP_TIMEOUT)).build(),
            Err(err) => return Some(Err(format!("SMTP_URL is not a valid SMTP address: {err}"))),
        };
    Some(match tokio::time::timeout(SMTP_TIMEOUT, transport.test_connection()).await {
        Err(_) => Err(format!("no answer within {} s", SMTP_TIMEOUT.as_secs())),
        Ok(Err(err)) => Err(err.to_string()),
        Ok(Ok(false)) => Err("the server did not answer NOOP".into()),
        Ok(Ok(true)) => Ok(()),
    })
}

/// Asks the router for the public home page and the console's login page (on the hosts that
/// serve them), a cross-site form POST and the development outbox.
async fn http(settings: &Settings, router: Router) -> HttpProbe {
    let base = settings.base_url();
    let app_host = base.split_once("://").map_or(base.as_str(), |(_, rest)| rest).split('/').next().unwrap_or("");
    let app_host = strip_port(app_host).to_owned();
    let admin_host =
        settings.admin_host.as_deref().map_or_else(|| app_host.clone(), |h| strip_port(h.trim()).to_owned());
    let pages = vec![
        ask(&router, Method::GET, "/", &app_host, None).await,
        ask(&router, Method::GET, "/admin/login/", &admin_host, None).await,
    ];
    let cross_site_post = ask(&router, Method::POST, "/admin/login/", &admin_host, Some("cross-site")).await;
    let dev_outbox = ask(&router, Method::GET, "/dev/outbox/", &app_host, None).await;
    HttpProbe { pages, cross_site_post, dev_outbox, session_cookie: session_cookie(settings) }
}

async fn ask(router: &Router, method: Method, path: &str, host: &str, fetch_site: Option<&str>) -> Page {
    let mut builder = Request::builder().method(method).uri(path).header(header::HOST, host);
    if let Some(site) = fetch_site {
        builder = builder
            .header("sec-fetch-site", site)
            .header(header::ORIGIN, "https://cross-site.invalid")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let page = |status: u16, headers| Page { path: path.to_owned(), status, headers };
    let Ok(mut request) = builder.body(Body::empty()) else {
        return page(0, Default::default());
    };
    // What the server adds to every connection's requests; the probe comes from nowhere.
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 0))));
    match router.clone().oneshot(request).await {
        Ok(response) => page(response.status().as_u16(), response.headers().clone()),
        Err(never) => match never {},
    }
}
