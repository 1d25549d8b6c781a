//! `deploy status`: for each site, the release it runs and the ones installed, whether systemd
//! and the app itself say each instance is up, the newest local backup, and the last deploy with its log.

use std::time::Duration;

use serde::Serialize;

use super::history::{self, Record};
use super::probe::Prober;
use crate::ops::server::host::Host;
use crate::ops::server::release;
use crate::ops::server::site::Site;

#[derive(Debug, Serialize)]
struct SiteStatus {
    site: String,
    /// For a staging copy: the site it copies, when it was made, and where it answers.
    staging: Option<StagingStatus>,
    release: Option<String>,
    instances: Vec<InstanceStatus>,
    last_backup: Option<String>,
    last_deploy: Option<Record>,
    last_log: Vec<String>,
}

#[derive(Debug, Serialize)]
struct StagingStatus {
    of: String,
    made: String,
    url: String,
}

/// What systemd and the instance itself say.
#[derive(Debug, Serialize)]
struct InstanceStatus {
    unit: String,
    service: String,
    ready: String,
    commit: Option<String>,
    /// Its drain file exists: Caddy sends it nothing (a deploy is restarting it, or stopped in the middle).
    draining: bool,
}

pub fn print(host: &Host, sites: &[Site], json: bool) -> anyhow::Result<()> {
    let prober = Prober::new(Duration::from_secs(3))?;
    let statuses: Vec<SiteStatus> = sites.iter().map(|site| of(host, site, &prober)).collect::<anyhow::Result<_>>()?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "releases": release::installed(host)?,
                "sites": statuses,
            }))?
        );
        return Ok(());
    }
    println!("releases installed (newest first): {}", release::installed(host)?.join(", "));
    for s in &statuses {
        println!("\nsite {}", s.site);
        if let Some(staging) = &s.staging {
            println!("  staging of   {}, made {}; {}", staging.of, staging.made, staging.url);
        }
        println!("  release      {}", s.release.as_deref().unwrap_or("none"));
        for i in &s.instances {
            let commit = i.commit.as_deref().unwrap_or("unknown");
            let draining = if i.draining { ", DRAINING" } else { "" };
            println!("  {:<12} {}, {} (commit {commit}){draining}", i.unit, i.service, i.ready);
        }
        println!("  last backup  {}", s.last_backup.as_deref().unwrap_or("none in the data folder"));
        match &s.last_deploy {
            Some(r) => {
                let when = crate::ops::backup::rfc3339(r.started_at);
                let why = r.reason.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
                println!("  last {:<8} {} at {when}, {:?} in {:.1} s{why}", r.action, r.release, r.outcome, r.seconds);
                println!("  log          {}", r.log);
                for line in &s.last_log {
                    println!("    {line}");
                }
            }
            None => println!("  last deploy  none"),
        }
    }
    Ok(())
}

fn of(host: &Host, site: &Site, prober: &Prober) -> anyhow::Result<SiteStatus> {
    let instances = site
        .instances()
        .iter()
        .map(|i| {
            let service = host.run(&["systemctl", "is-active", &i.service()]).unwrap_or_else(|_| "inactive".into());
            let (ready, commit) = match prober.ask(i.address()) {
                Ok(answer) => (format!("/readyz {}", answer.ready), answer.commit),
                Err(err) => (format!("no answer: {err:#}"), None),
            };
            let draining = host.path(&i.drain_file()).exists();
            InstanceStatus { unit: i.unit.clone(), service: service.trim().to_owned(), ready, commit, draining }
        })
        .collect();
    let last_deploy = history::read(host, site)?.pop();
    let last_log = match &last_deploy {
        Some(record) => {
            let text = host.read(&record.log)?.unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines[lines.len().saturating_sub(6)..].to_vec()
        }
        None => Vec::new(),
    };
    let staging = site.staging.as_ref().map(|staging| StagingStatus {
        of: staging.of.to_string(),
        made: crate::ops::backup::rfc3339(staging.created_at),
        url: format!("https://{}/", site.app_host()),
    });
    Ok(SiteStatus {
        site: site.name.to_string(),
        staging,
        release: release::current(host, site)?,
        instances,
        last_backup: newest_backup(host, site),
        last_deploy,
        last_log,
    })
}

fn newest_backup(host: &Host, site: &Site) -> Option<String> {
    let dir = host.path(&site.backups_dir());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("shoestring-") && !n.ends_with(".partial"))
        .collect();
    names.sort();
    names.pop()
}
