//! A deploy, in the order that keeps production safe: install the release; back up with the
//! running one; rehearse — the new release restores that backup into a scratch database,
//! migrates it and answers smoke requests (part of `backup verify`); only then migrate
//! production, switch the `current` link, restart through the socket and wait for `/readyz`
//! and `/version`. Until the switch nothing production runs has changed; after it, a release
//! that does not become ready is replaced by the previous one. Migrations keep the previous
//! release working (ARCHITECTURE.md, "Migrations"), which is what makes that rollback safe.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::history::{self, Outcome, Record};
use super::lock;
use super::switch::{Target, switch_or_restore};
use crate::kernel::clock::Clock;
use crate::ops::server::env_file;
use crate::ops::server::host::Host;
use crate::ops::server::release;
use crate::ops::server::site::Site;

/// The lines of one run: printed as they happen and kept for its log file.
pub struct Log {
    started: Instant,
    pub lines: Vec<String>,
}

impl Log {
    pub fn new() -> Self {
        Self { started: Instant::now(), lines: Vec::new() }
    }

    pub fn say(&mut self, line: impl Into<String>) {
        let line = line.into();
        println!("{line}");
        self.lines.push(format!("[{:6.1} s] {line}", self.started.elapsed().as_secs_f64()));
    }

    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// How a run ended, and why when it did not deploy.
pub struct Ended {
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub backup: Option<String>,
}

impl Ended {
    fn stopped(reason: String, backup: Option<String>) -> Self {
        Self { outcome: Outcome::Stopped, reason: Some(reason), backup }
    }
}

pub struct Plan<'a> {
    pub host: &'a Host,
    pub site: &'a Site,
    pub timeout: Duration,
}

/// Deploys `binary` to the site; records the run and prunes old releases.
pub fn deploy(plan: &Plan<'_>, binary: &Path, keep: usize) -> anyhow::Result<Outcome> {
    let (host, site) = (plan.host, plan.site);
    // Copying and checksumming the release, and what it runs as the site (`command_as_site`),
    // yield the CPU to the instances serving meanwhile.
    let _ = rustix::process::setpriority_process(None, 10);
    let identity = release::identify(host, binary)?;
    let name = identity.release_name();
    let _lock = lock::acquire(host, site, &format!("deploy of {name}"))?;
    let previous = release::current(host, site)?
        .with_context(|| format!("site {} has no current release: run `shoestring server setup`", site.name))?;
    if previous == name {
        println!("site {}: {name} is already the current release; nothing to do", site.name);
        return Ok(Outcome::Deployed);
    }
    let started_at = Clock::default().now();
    let mut log = Log::new();
    log.say(format!("site {}: deploying {name} (running {previous})", site.name));
    release::install(host, binary, &identity)?;
    log.say(format!("  installed  {}", release::binary_in(&name)));
    let ended = attempt(plan, &name, &identity.commit, &previous, &mut log);
    let ended = ended.unwrap_or_else(|err| Ended::stopped(format!("{err:#}"), None));
    finish(plan, "deploy", &name, Some(previous), started_at, ended, log, keep)
}

fn attempt(plan: &Plan<'_>, name: &str, commit: &str, previous: &str, log: &mut Log) -> anyhow::Result<Ended> {
    let (host, site) = (plan.host, plan.site);
    let new_binary = host.path(&release::binary_in(name));
    let new_binary = new_binary.to_str().context("the release path is not UTF-8")?;
    // Read before anything changes: after the switch every step must end in an outcome.
    let previous_commit = release::identify(host, &host.path(&release::binary_in(previous)))?.commit;
    let new = Target { name: name.to_owned(), commit: commit.to_owned() };
    let old = Target { name: previous.to_owned(), commit: previous_commit };
    // An app machine shares the front machine's database, which that machine's deploy backed up,
    // rehearsed and migrated; here the release is only switched. Deployed here first, a release
    // with new migrations never becomes ready (`/readyz` checks the schema) and is rolled back.
    if site.joined.is_some() {
        log.say("  shared     database: backed up, rehearsed and migrated by the front machine's deploy");
        let (outcome, reason) = switch_or_restore(plan, &new, &old, log);
        return Ok(Ended { outcome, reason, backup: None });
    }
    let backup = match backup(host, site, &release::binary_in(previous)) {
        Ok(archive) => archive,
        Err(err) => return Ok(Ended::stopped(format!("the backup failed, nothing was changed: {err:#}"), None)),
    };
    log.say(format!("  backed up  {archive} (by {previous})", archive = backup));
    match as_site(host, site, new_binary, &["backup", "verify", &backup]) {
        Ok(out) => log.say(format!("  rehearsed  {name} on a restored copy: {}", last_line(&out))),
        Err(err) => {
            let why = format!("the rehearsal on a restored copy of production failed, production untouched: {err:#}");
            return Ok(Ended::stopped(why, Some(backup)));
        }
    }
    if let Err(err) = as_site(host, site, new_binary, &["migrate"]) {
        let why = format!("migrations failed on production; {previous} still serves and was not restarted: {err:#}");
        return Ok(Ended::stopped(why, Some(backup)));
    }
    log.say(format!("  migrated   production with {name}"));
    let (outcome, reason) = switch_or_restore(plan, &new, &old, log);
    Ok(Ended { outcome, reason, backup: Some(backup) })
}

/// Writes the record and the log, prunes old releases, and prints the closing line.
#[allow(clippy::too_many_arguments)]
pub fn finish(
    plan: &Plan<'_>,
    action: &str,
    name: &str,
    previous: Option<String>,
    started_at: i64,
    ended: Ended,
    mut log: Log,
    keep: usize,
) -> anyhow::Result<Outcome> {
    let (host, site) = (plan.host, plan.site);
    let closing = match (ended.outcome, &ended.reason) {
        (Outcome::Deployed, _) => format!("site {}: {name} deployed in {:.1} s", site.name, log.seconds()),
        (Outcome::Stopped, Some(why)) => format!("site {}: {action} of {name} stopped: {why}", site.name),
        (Outcome::RolledBack, Some(why)) => format!(
            "site {}: {name} was rolled back, {} runs again: {why}",
            site.name,
            previous.as_deref().unwrap_or("the previous release")
        ),
        (_, why) => format!(
            "site {}: DOWN — neither {name} nor the previous release became ready: {}",
            site.name,
            why.as_deref().unwrap_or("unknown")
        ),
    };
    log.say(closing);
    let record = Record {
        action: action.into(),
        release: name.into(),
        previous,
        outcome: ended.outcome,
        reason: ended.reason,
        backup: ended.backup,
        started_at,
        seconds: (log.seconds() * 10.0).round() / 10.0,
        log: history::log_path(site, started_at, action, name),
    };
    let in_use: Vec<String> =
        crate::ops::server::site::load_all(host)?.iter().filter_map(|s| release::current(host, s).ok()?).collect();
    for pruned in release::prune(host, keep, &in_use)? {
        log.say(format!("  pruned     release {pruned}"));
    }
    history::append(host, site, &record, &log.lines)?;
    println!("  log        {}", record.log);
    Ok(record.outcome)
}

/// A backup by the running release, to BACKUP_TO when the site has one, else into its data
/// folder; returns the archive as `backup verify` takes it (a path or an s3:// URL).
fn backup(host: &Host, site: &Site, running: &str) -> anyhow::Result<String> {
    let env = env_file::parse(&host.read(&site.env_file())?.unwrap_or_default());
    let has_destination = env.iter().any(|(k, v)| k == "BACKUP_TO" && !v.is_empty());
    backup_to(host, site, running, (!has_destination).then(|| site.backups_dir()).as_deref())
}

/// A backup by the running release to `folder` (default: BACKUP_TO); returns the archive.
pub fn backup_to(host: &Host, site: &Site, running: &str, folder: Option<&str>) -> anyhow::Result<String> {
    let args: Vec<&str> = match folder {
        Some(folder) => vec!["backup", "--to", folder],
        None => vec!["backup"],
    };
    let out = as_site(host, site, running, &args)?;
    out.lines()
        .find_map(|l| l.strip_prefix("Backed up to "))
        .map(|archive| archive.trim().to_owned())
        .with_context(|| format!("the backup printed no archive: {}", out.trim()))
}

/// Runs the site's `binary args…` as the site; its stdout, or an error with its last lines.
pub fn as_site(host: &Host, site: &Site, binary: &str, args: &[&str]) -> anyhow::Result<String> {
    as_site_with(host, site, binary, args, &[])
}

/// `as_site` with more env files after the site's own (`Site::command_as_site_with`).
pub fn as_site_with(
    host: &Host,
    site: &Site,
    binary: &str,
    args: &[&str],
    env_files: &[&str],
) -> anyhow::Result<String> {
    let argv = site.command_as_site_with(binary, args, env_files);
    let out = host.output(&argv.iter().map(String::as_str).collect::<Vec<_>>(), None, &[])?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().chain(stdout.lines()).filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(4)..].join(" | ");
    anyhow::bail!("`{} {}` failed ({}): {tail}", Path::new(binary).display(), args.join(" "), out.status)
}

pub fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("done").trim()
}
