//! Running it: someone gets error mail, metrics are not public, client addresses are right
//! behind a proxy, backups and restore drills run and succeed, the database answers and is
//! migrated.

use super::{Backups, Probes};
use crate::kernel::clock::format_timestamp;
use crate::kernel::config::Settings;
use crate::ops::report::Finding;
use crate::ops::status::{DRILL_MAX_AGE_SECS, Run};

pub fn check(settings: &Settings, probes: &Probes) -> Vec<Finding> {
    let mut findings = vec![admins(settings), metrics(settings), trusted_proxies(settings)];
    if let Some(db) = &probes.db {
        findings.extend(database(db));
    }
    match &probes.backups {
        Some(Ok(backups)) => {
            findings.extend([backup(settings, backups), drill(settings, backups)].into_iter().flatten())
        }
        Some(Err(err)) => findings.push(Finding::warning(
            "OPS-BACKUPS",
            format!("the backup record could not be read: {err}"),
            "check the database",
        )),
        None => {}
    }
    findings
}

fn admins(settings: &Settings) -> Finding {
    let admins = &settings.operations.admins;
    if admins.iter().all(|a| a.trim().is_empty()) {
        Finding::warning(
            "OPS-ADMINS",
            "ADMINS is unset: nobody hears of server errors, dead jobs or failed backups",
            "set ADMINS=you@example.com (comma-separated)",
        )
    } else {
        Finding::ok("OPS-ADMINS", format!("error mail goes to {} address(es)", admins.len()))
    }
}

fn metrics(settings: &Settings) -> Finding {
    let ops = &settings.operations;
    match ops.metrics_bind.0 {
        None => Finding::ok("OPS-METRICS", "metrics are off"),
        Some(addr) if addr.ip().is_loopback() => {
            Finding::ok("OPS-METRICS", format!("metrics on {addr}, loopback only"))
        }
        Some(addr) if ops.metrics_token.is_some() => {
            Finding::ok("OPS-METRICS", format!("metrics on {addr} need the bearer token"))
        }
        Some(addr) => Finding::error(
            "OPS-METRICS",
            format!("metrics on {addr} are open to anyone who can reach it"),
            "set METRICS_TOKEN, or METRICS_BIND=127.0.0.1:9100",
        ),
    }
}

/// The app speaks only http, so an https base URL means a proxy terminates TLS in front; without
/// a trusted proxy every client looks like the proxy (one rate limit bucket for everyone).
fn trusted_proxies(settings: &Settings) -> Finding {
    let proxies = &settings.trusted_proxies.0;
    let behind_proxy = settings.base_url().starts_with("https://");
    match (behind_proxy, proxies.is_empty()) {
        (false, _) => Finding::info("OPS-TRUSTED-PROXIES", "BASE_URL is not https: no proxy in front assumed"),
        (true, true) => Finding::warning(
            "OPS-TRUSTED-PROXIES",
            "behind a proxy, but TRUSTED_PROXIES is empty: every client has the proxy's address",
            "set TRUSTED_PROXIES to the proxy's address (127.0.0.1,::1 for Caddy on this machine)",
        ),
        (true, false) => {
            let list: Vec<String> = proxies.iter().map(ToString::to_string).collect();
            Finding::ok("OPS-TRUSTED-PROXIES", format!("X-Forwarded-For believed from {}", list.join(", ")))
        }
    }
}

fn database(db: &Result<super::Migrations, String>) -> Vec<Finding> {
    let m = match db {
        Ok(m) => m,
        Err(err) => {
            return vec![Finding::error(
                "OPS-DB",
                format!("the database did not answer: {err}"),
                "check DATABASE_URL and that the database server runs",
            )];
        }
    };
    let migrated = if m.applied < m.latest {
        Finding::error(
            "OPS-DB-MIGRATED",
            format!("the schema is at {}, this release needs {}", m.applied, m.latest),
            "run `shoestring migrate`",
        )
    } else if m.applied > m.latest {
        Finding::warning(
            "OPS-DB-MIGRATED",
            format!("the schema ({}) is newer than this release knows ({})", m.applied, m.latest),
            "deploy the release that migrated it",
        )
    } else {
        Finding::ok("OPS-DB-MIGRATED", format!("schema at {}", m.applied))
    };
    vec![Finding::ok("OPS-DB", "the database answers"), migrated]
}

fn failed(run: Option<&Run>) -> Option<&Run> {
    run.filter(|r| !r.ok)
}

fn backup(settings: &Settings, backups: &Backups) -> Option<Finding> {
    let id = "OPS-BACKUPS";
    if settings.storage.backup_to.is_none() {
        return Some(Finding::warning(
            id,
            "BACKUP_TO is unset: nothing is backed up",
            "set BACKUP_TO to a folder or s3://bucket/prefix (docs/backups.md)",
        ));
    }
    let Some(every) = settings.storage.backup_every_secs() else {
        return Some(Finding::warning(id, "BACKUP_SCHEDULE is off", "set BACKUP_SCHEDULE=daily"));
    };
    let status = &backups.status;
    if let Some(run) = failed(status.last_backup.as_ref()) {
        let message = format!("the last backup failed: {}", run.detail);
        return Some(Finding::warning(id, message, "see `shoestring backup` and the error mail"));
    }
    // Two missed runs (with an hour's slack), as `/readyz` judges it.
    Some(match &status.last_good_backup {
        Some(run) if backups.now - run.started_at <= 2 * every + 3600 => {
            Finding::ok(id, format!("last backup {}", format_timestamp(run.started_at)))
        }
        Some(run) => Finding::warning(
            id,
            format!("no backup since {}", format_timestamp(run.started_at)),
            "check that the worker runs (RUN_WORKER) and `shoestring backup` works",
        ),
        None => Finding::warning(id, "no backup yet", "run `shoestring backup` once to check it works"),
    })
}

fn drill(settings: &Settings, backups: &Backups) -> Option<Finding> {
    let id = "OPS-BACKUP-DRILL";
    settings.storage.backup_to.as_ref()?;
    if settings.storage.drill_every_secs().is_none() {
        return Some(Finding::warning(
            id,
            "BACKUP_DRILL_SCHEDULE is off: nobody knows the backups restore",
            "set BACKUP_DRILL_SCHEDULE=weekly",
        ));
    }
    let status = &backups.status;
    if let Some(run) = failed(status.last_drill.as_ref()) {
        let message = format!("the last restore drill failed: {}", run.detail);
        return Some(Finding::warning(id, message, "run `shoestring backup verify --latest` and read its output"));
    }
    let days = DRILL_MAX_AGE_SECS / 86_400;
    Some(match &status.last_good_drill {
        Some(run) if backups.now - run.started_at <= DRILL_MAX_AGE_SECS => Finding::ok(
            id,
            format!(
                "last restore drill {}, restored in {:.1} s",
                format_timestamp(run.started_at),
                run.duration_ms as f64 / 1000.0
            ),
        ),
        _ => Finding::warning(
            id,
            format!("no successful restore drill in the last {days} days"),
            "run `shoestring backup verify --latest`",
        ),
    })
}
