//! `deploy status`: for each site, the release it runs and the ones installed, whether systemd
//! and the app itself say it is up, the newest local backup, and the last deploy with its log.

use std::time::Duration;

use serde::Serialize;

use super::history::{self, Record};
use crate::ops::server::host::Host;
use crate::ops::server::release;
use crate::ops::server::site::Site;

#[derive(Debug, Serialize)]
struct SiteStatus {
    site: String,
    release: Option<String>,
    service: String,
    ready: String,
    commit: Option<String>,
    last_backup: Option<String>,
    last_deploy: Option<Record>,
    last_log: Vec<String>,
}

pub fn print(host: &Host, sites: &[Site], json: bool) -> anyhow::Result<()> {
    let statuses: Vec<SiteStatus> = sites.iter().map(|site| of(host, site)).collect::<anyhow::Result<_>>()?;
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
        println!("  release      {}", s.release.as_deref().unwrap_or("none"));
        println!("  service      {}", s.service);
        println!("  ready        {} (commit {})", s.ready, s.commit.as_deref().unwrap_or("unknown"));
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

fn of(host: &Host, site: &Site) -> anyhow::Result<SiteStatus> {
    let unit = format!("{}.service", site.unit());
    let service = host.run(&["systemctl", "is-active", &unit]).unwrap_or_else(|_| "inactive".into());
    let (ready, commit) = ask(site);
    let last_deploy = history::read(host, site)?.pop();
    let last_log = match &last_deploy {
        Some(record) => {
            let text = host.read(&record.log)?.unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines[lines.len().saturating_sub(6)..].to_vec()
        }
        None => Vec::new(),
    };
    Ok(SiteStatus {
        site: site.name.to_string(),
        release: release::current(host, site)?,
        service: service.trim().to_owned(),
        ready,
        commit,
        last_backup: newest_backup(host, site),
        last_deploy,
        last_log,
    })
}

/// `/readyz`'s status and `/version`'s commit, asked on the site's socket.
fn ask(site: &Site) -> (String, Option<String>) {
    let answer = || -> anyhow::Result<(String, Option<String>)> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = reqwest::Client::builder().timeout(Duration::from_secs(3)).no_proxy().build()?;
        let base = format!("http://127.0.0.1:{}", site.port);
        runtime.block_on(async {
            let ready = client.get(format!("{base}/readyz")).send().await?.status();
            let body = client.get(format!("{base}/version")).send().await?.bytes().await?;
            let version: serde_json::Value = serde_json::from_slice(&body)?;
            Ok((format!("/readyz {ready}"), version["commit"].as_str().map(str::to_owned)))
        })
    };
    answer().unwrap_or_else(|err| (format!("no answer: {err:#}"), None))
}

fn newest_backup(host: &Host, site: &Site) -> Option<String> {
    let dir = host.path(&format!("{}/backups", site.data_dir()));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("shoestring-") && !n.ends_with(".partial"))
        .collect();
    names.sort();
    names.pop()
}
