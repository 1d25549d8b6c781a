//! `check --deploy`: every finding for a good and a bad configuration, the headers judged on
//! the real router, the SMTP test connection against the local sink, the command's JSON, and
//! production refusing to start on errors (the real binary).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::routing::get;
use shoestring::kernel::config::{AppEnv, MetricsBind, Secret, Settings, TrustedProxies};
use shoestring::kernel::db::{Backend, Db};
use shoestring::ops::deploy_check::{self, Backups, Disk, FileMode, Migrations, Probes};
use shoestring::ops::report::{Finding, Severity};
use shoestring::ops::status::{BackupStatus, Run};

use crate::support::smtp::SmtpSink;
use crate::support::{TempDir, TestApp, test_settings};

const SECRET: &str = "prod-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NOW: i64 = 2_000_000_000;
const DAY: i64 = 86_400;

fn production(s: &mut Settings) {
    s.env = AppEnv::Production;
    s.secret_key = Secret::new(SECRET);
    s.allowed_hosts = vec!["127.0.0.1".into()];
    s.base_url = Some("https://app.example.com".into());
    s.smtp_url = Some(Secret::new("smtps://user:pass@127.0.0.1:1"));
}

fn good_settings() -> Settings {
    let mut s = test_settings();
    production(&mut s);
    s.trusted_proxies = TrustedProxies(vec!["127.0.0.1".parse().unwrap()]);
    s.mail_from = "Shoestring <noreply@example.com>".into();
    s.operations.admins = vec!["ops@example.com".into()];
    s.operations.env_file = Some("/etc/shoestring/blog.env".into());
    s.storage.backup_to = Some("/var/backups/shoestring".into());
    s
}

fn run(started_at: i64, ok: bool) -> Run {
    Run { started_at, duration_ms: 4200, ok, archive: "a.tar.zst.age".into(), bytes: 1, detail: "disk full".into() }
}

fn good_probes() -> Probes {
    let latest = Db::latest_migration(Backend::Sqlite);
    let status = BackupStatus {
        last_backup: Some(run(NOW - DAY / 2, true)),
        last_good_backup: Some(run(NOW - DAY / 2, true)),
        last_drill: Some(run(NOW - 2 * DAY, true)),
        last_good_drill: Some(run(NOW - 2 * DAY, true)),
        warnings: Vec::new(),
    };
    Probes {
        http: None,
        db: Some(Ok(Migrations { applied: latest, latest })),
        disk: Some(Disk { dir: "/var/lib/shoestring/blog".into(), free_mb: Ok(50_000) }),
        data_dir: Some(FileMode { path: "/var/lib/shoestring/blog".into(), mode: Ok(0o700) }),
        env_file: Some(FileMode { path: "/etc/shoestring/blog.env".into(), mode: Ok(0o640) }),
        backups: Some(Ok(Backups { status, now: NOW })),
        smtp: Some(Ok(())),
    }
}

fn bad_settings() -> Settings {
    let mut s = test_settings();
    s.smtp_url = Some(Secret::new("smtp://user:pass@mail.example.com:25"));
    s.secret_key = Secret::new("a".repeat(70));
    s.base_url = Some("https://app.example.com".into());
    s.operations.metrics_bind = MetricsBind(Some("0.0.0.0:9100".parse().unwrap()));
    s.operations.env_file = Some("/srv/app.env".into());
    s.storage.backup_to = Some("/var/backups/shoestring".into());
    s.storage.backup_drill_schedule = "off".into();
    s
}

fn bad_probes() -> Probes {
    Probes {
        http: None,
        db: Some(Ok(Migrations { applied: 3, latest: 9 })),
        disk: Some(Disk { dir: "/srv".into(), free_mb: Ok(12) }),
        data_dir: Some(FileMode { path: "/srv/data".into(), mode: Ok(0o777) }),
        env_file: Some(FileMode { path: "/srv/app.env".into(), mode: Ok(0o644) }),
        backups: Some(Ok(Backups {
            status: BackupStatus { last_backup: Some(run(NOW - 60, false)), ..BackupStatus::default() },
            now: NOW,
        })),
        smtp: Some(Err("Connection refused".into())),
    }
}

fn find<'a>(findings: &'a [Finding], id: &str) -> &'a Finding {
    findings.iter().find(|f| f.id == id).unwrap_or_else(|| panic!("no {id} in {findings:#?}"))
}

fn assert_severity(findings: &[Finding], id: &str, severity: Severity) {
    let finding = find(findings, id);
    assert_eq!(finding.severity, severity, "{finding:?}");
    if severity > Severity::Info {
        assert!(!finding.fix.is_empty(), "{id} has no fix");
    }
}

const CONFIG_IDS: &[&str] = &[
    "SEC-ENV",
    "SEC-SECRET-KEY",
    "SEC-ALLOWED-HOSTS",
    "SEC-BASE-URL",
    "SEC-DEV-ROUTES",
    "SEC-API-DOCS",
    "OPS-SMTP",
    "OPS-SMTP-TLS",
    "OPS-SMTP-SEND",
    "OPS-MAIL-FROM",
    "OPS-ADMINS",
    "OPS-METRICS",
    "OPS-TRUSTED-PROXIES",
    "OPS-DB",
    "OPS-DB-MIGRATED",
    "OPS-BACKUPS",
    "OPS-BACKUP-DRILL",
    "OPS-DATA-DIR",
    "OPS-ENV-FILE",
    "OPS-DISK",
];

#[test]
fn a_good_configuration_passes_every_settings_and_operations_check() {
    let findings = deploy_check::findings(&good_settings(), &good_probes());

    for id in CONFIG_IDS {
        assert_severity(&findings, id, Severity::Ok);
    }
}

#[test]
fn a_bad_configuration_fails_each_check_with_a_fix() {
    let findings = deploy_check::findings(&bad_settings(), &bad_probes());

    for id in [
        "SEC-ENV",
        "SEC-SECRET-KEY",
        "SEC-ALLOWED-HOSTS",
        "OPS-SMTP-TLS",
        "OPS-SMTP-SEND",
        "OPS-METRICS",
        "OPS-DB-MIGRATED",
        "OPS-DATA-DIR",
        "OPS-ENV-FILE",
    ] {
        assert_severity(&findings, id, Severity::Error);
    }
    // A nearly full disk warns (and fails /readyz) but never refuses a start.
    for id in ["OPS-MAIL-FROM", "OPS-ADMINS", "OPS-TRUSTED-PROXIES", "OPS-BACKUPS", "OPS-BACKUP-DRILL", "OPS-DISK"] {
        assert_severity(&findings, id, Severity::Warning);
    }
    assert!(find(&findings, "OPS-BACKUPS").message.contains("disk full"));
}

#[test]
fn the_rest_of_the_bad_cases_are_found_too() {
    let mut settings = test_settings();
    settings.api_docs = Some(true);
    settings.env = AppEnv::Production;
    let mut probes = good_probes();
    probes.db = Some(Err("connection refused".into()));
    probes.backups = None;

    let findings = deploy_check::findings(&settings, &probes);
    let dev = deploy_check::findings(&test_settings(), &Probes::default());

    assert_severity(&findings, "SEC-BASE-URL", Severity::Error);
    assert_severity(&findings, "SEC-API-DOCS", Severity::Warning);
    assert_severity(&findings, "OPS-SMTP", Severity::Error);
    assert_severity(&findings, "OPS-DB", Severity::Error);
    assert_severity(&dev, "SEC-DEV-ROUTES", Severity::Error);
    let mut settings = good_settings();
    settings.storage.backup_to = None;
    assert_severity(&deploy_check::findings(&settings, &good_probes()), "OPS-BACKUPS", Severity::Warning);
}

#[tokio::test]
async fn a_production_app_sends_every_header_and_secure_cookies() {
    let app = TestApp::spawn_with(production).await;

    let probes = deploy_check::gather(&app.state, shoestring::app(app.state.clone())).await;
    let findings = deploy_check::findings(&app.state.settings, &probes);

    for id in [
        "SEC-DEV-ROUTES",
        "SEC-HSTS",
        "SEC-HSTS-SUBDOMAINS",
        "SEC-SESSION-COOKIE",
        "SEC-CSRF-COOKIE",
        "SEC-CSRF",
        "SEC-FRAME",
        "SEC-NOSNIFF",
        "SEC-REFERRER-POLICY",
        "SEC-COOP",
        "SEC-CSP",
        "OPS-DB",
        "OPS-DB-MIGRATED",
    ] {
        assert_severity(&findings, id, Severity::Ok);
    }
    assert_severity(&findings, "SEC-HSTS-PRELOAD", Severity::Warning);
}

#[tokio::test]
async fn hsts_preload_is_sent_when_asked_for() {
    let app = TestApp::spawn_with(|s| {
        production(s);
        s.hsts_preload = true;
    })
    .await;

    let probes = deploy_check::gather(&app.state, shoestring::app(app.state.clone())).await;

    assert_severity(&deploy_check::findings(&app.state.settings, &probes), "SEC-HSTS-PRELOAD", Severity::Ok);
}

#[tokio::test]
async fn a_development_app_has_no_hsts_and_insecure_cookies() {
    let app = TestApp::spawn().await;

    let probes = deploy_check::gather(&app.state, shoestring::app(app.state.clone())).await;
    let findings = deploy_check::findings(&app.state.settings, &probes);

    assert_severity(&findings, "SEC-HSTS", Severity::Error);
    assert_severity(&findings, "SEC-SESSION-COOKIE", Severity::Error);
    assert_severity(&findings, "SEC-CSRF-COOKIE", Severity::Error);
    assert_severity(&findings, "SEC-DEV-ROUTES", Severity::Error);
}

#[tokio::test]
async fn a_router_without_the_middleware_stack_fails_the_header_checks() {
    let app = TestApp::spawn_with(production).await;
    let bare = axum::Router::new().route("/", get(|| async { "hello" })).route("/admin/login/", get(|| async { "" }));

    let probes = deploy_check::gather(&app.state, bare).await;
    let findings = deploy_check::findings(&app.state.settings, &probes);

    for id in ["SEC-HSTS", "SEC-CSRF-COOKIE", "SEC-CSRF", "SEC-FRAME", "SEC-NOSNIFF", "SEC-REFERRER-POLICY", "SEC-COOP"]
    {
        assert_severity(&findings, id, Severity::Error);
    }
    assert_severity(&findings, "SEC-CSP", Severity::Warning);
}

#[tokio::test]
async fn the_backup_record_is_read_from_the_database() {
    let app = TestApp::spawn_with(|s| {
        production(s);
        s.storage.backup_to = Some("/var/backups/shoestring".into());
    })
    .await;
    let now = app.clock().now();
    shoestring::ops::status::record(&app.state.db, shoestring::ops::status::RunKind::Backup, &run(now - 60, true))
        .await
        .unwrap();

    let probes = deploy_check::gather(&app.state, shoestring::app(app.state.clone())).await;
    let findings = deploy_check::findings(&app.state.settings, &probes);

    assert_severity(&findings, "OPS-BACKUPS", Severity::Ok);
    assert_severity(&findings, "OPS-BACKUP-DRILL", Severity::Warning);
}

#[tokio::test]
async fn the_smtp_test_connects_and_logs_in_without_sending_mail() {
    let sink = SmtpSink::start().await;
    let mut settings = test_settings();
    settings.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{}", sink.port)));

    let probe = deploy_check::smtp_test_send(&settings).await;
    let probes = Probes { smtp: probe, ..Probes::default() };

    assert_severity(&deploy_check::findings(&settings, &probes), "OPS-SMTP-SEND", Severity::Ok);
    assert!(sink.received().is_empty(), "a mail was delivered");
}

#[tokio::test]
async fn the_smtp_test_fails_on_a_closed_port() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut settings = test_settings();
    settings.smtp_url = Some(Secret::new(format!("smtp://127.0.0.1:{port}")));

    let started = std::time::Instant::now();
    let probes = Probes { smtp: deploy_check::smtp_test_send(&settings).await, ..Probes::default() };

    assert_severity(&deploy_check::findings(&settings, &probes), "OPS-SMTP-SEND", Severity::Error);
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[tokio::test]
async fn the_dashboard_lists_the_deployment_findings_that_need_attention() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("boss").await;

    let (status, html) = staff.get_text("/admin/").await;

    assert_eq!(status, 200);
    assert!(html.contains("Deployment checks"), "{html}");
    assert!(html.contains("SEC-ENV") && html.contains("Fix: set APP_ENV=production"));
    assert!(!html.contains("SEC-NOSNIFF"), "ok findings are listed");
}

fn shoestring(envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shoestring"));
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("RUST_LOG", "info");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

/// A private data folder and the environment of a good production deployment there.
fn production_env(dir: &TempDir, port: u16) -> Vec<(&'static str, String)> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o700)).unwrap();
    vec![
        ("APP_ENV", "production".into()),
        ("DATABASE_URL", format!("sqlite://{}/db.sqlite", dir.0.display())),
        ("MEDIA_DIR", dir.0.join("media").display().to_string()),
        ("SECRET_KEY", SECRET.into()),
        ("ALLOWED_HOSTS", "127.0.0.1".into()),
        ("BASE_URL", "https://app.example.com".into()),
        ("SMTP_URL", "smtps://user:pass@127.0.0.1:1".into()),
        ("BIND", format!("127.0.0.1:{port}")),
        ("METRICS_BIND", "off".into()),
        ("RUN_WORKER", "false".into()),
    ]
}

fn with(envs: &[(&'static str, String)], key: &'static str, value: &str) -> Vec<(&'static str, String)> {
    let mut envs: Vec<_> = envs.iter().filter(|(k, _)| *k != key).cloned().collect();
    envs.push((key, value.to_owned()));
    envs
}

fn borrowed<'a>(envs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    envs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn production_refuses_to_start_with_a_weak_secret_and_lists_the_findings() {
    let dir = TempDir::new("deploy-weak");
    let envs = with(&production_env(&dir, 1), "SECRET_KEY", &"x".repeat(20));

    let out = shoestring(&borrowed(&envs)).arg("serve").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("refusing to start in production"), "{stderr}");
    assert!(stderr.contains("SEC-SECRET-KEY") && stderr.contains("fix: set SECRET_KEY"), "{stderr}");
}

#[test]
fn production_starts_with_a_good_configuration_and_logs_each_warning_once() {
    let dir = TempDir::new("deploy-good");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let envs = production_env(&dir, port);
    let mut child =
        shoestring(&borrowed(&envs)).arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());

    let mut lines = Vec::new();
    for line in stdout.lines().map_while(Result::ok) {
        let listening = line.contains("\"listening\"");
        lines.push(line);
        if listening {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();

    assert!(lines.last().is_some_and(|l| l.contains("\"listening\"")), "never listened: {lines:#?}");
    let admins = lines.iter().filter(|l| l.contains("\"deploy_check\"") && l.contains("OPS-ADMINS")).count();
    assert_eq!(admins, 1, "{lines:#?}");
}

#[test]
fn check_deploy_prints_json_and_fails_on_errors() {
    let dir = TempDir::new("deploy-json");
    let envs = production_env(&dir, 1);
    assert!(shoestring(&borrowed(&envs)).arg("migrate").output().unwrap().status.success());

    let out = shoestring(&borrowed(&envs)).args(["check", "--deploy", "--json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let errors: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["id"].as_str().unwrap())
        .collect();

    assert_eq!(out.status.code(), Some(1));
    // Nothing listens on the SMTP port: the test connection is the one error.
    assert_eq!(errors, ["OPS-SMTP-SEND"]);
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["fix"].is_string()));
}

#[test]
fn check_deploy_offline_leaves_out_the_smtp_test_connection() {
    let dir = TempDir::new("deploy-offline");
    let envs = production_env(&dir, 1);
    assert!(shoestring(&borrowed(&envs)).arg("migrate").output().unwrap().status.success());

    let out = shoestring(&borrowed(&envs)).args(["check", "--deploy", "--json", "--offline"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let ids: Vec<&str> = report["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();

    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert!(ids.contains(&"OPS-SMTP-TLS") && !ids.contains(&"OPS-SMTP-SEND"), "{ids:?}");
}
