//! `shoestring deploy`: a new release onto a site set up by `shoestring server`, with a backup
//! and a rehearsal on a restored copy before production changes, and the previous release put
//! back when the new one does not become ready (`run.rs`); `deploy rollback` and `deploy status`;
//! `deploy --staging`, the release on a new site holding a copy of production (`staging.rs`).
//! On the server it runs as root; from a laptop (`--host`) it copies itself and the release
//! there over SSH and runs there, like `server`. It uses the kernel and `ops::server`, no app.

pub mod cli;
mod history;
mod lock;
mod probe;
mod rollback;
mod run;
mod staging;
mod status;
mod switch;
mod words;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use cli::{DeployAction, DeployArgs, Target};
use history::Outcome;

use crate::ops::server::host::Host;
use crate::ops::server::remote::Remote;
use crate::ops::server::site::{self, Site};
use crate::ops::server::units::BINARY;

pub fn main(args: DeployArgs) -> ExitCode {
    match dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let target = &args.target;
    anyhow::ensure!(
        !(args.options.staging && target.hosts.len() > 1),
        "--staging makes the copy on one machine: name the front machine's --host only"
    );
    // Machine after machine, in the order given; the first that fails stops the rest.
    for (at, host) in target.hosts.iter().enumerate() {
        if target.hosts.len() > 1 {
            println!("== {host} ({} of {})", at + 1, target.hosts.len());
        }
        let code = remote(&args, Remote { target: host.clone(), options: target.ssh_options.clone() })?;
        if code != ExitCode::SUCCESS {
            let rest = &target.hosts[at + 1..];
            if !rest.is_empty() {
                eprintln!("error: stopped at {host}; not reached: {}", rest.join(", "));
            }
            return Ok(code);
        }
    }
    if !target.hosts.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    anyhow::ensure!(
        rustix::process::geteuid().is_root(),
        "run this as root on the server, or from your computer with --host USER@SERVER"
    );
    let host = Host::system();
    let timeout = Duration::from_secs(target.timeout);
    match args.action {
        None => {
            let site = pick_site(&host, target)?;
            let binary = match args.options.binary {
                Some(path) => path,
                None => std::env::current_exe().context("finding this executable")?,
            };
            if args.options.staging {
                staging::create(&host, &site, &binary, timeout)?;
                return Ok(ExitCode::SUCCESS);
            }
            let plan = run::Plan { host: &host, site: &site, timeout };
            Ok(exit_code(run::deploy(&plan, &binary, args.options.keep)?))
        }
        Some(DeployAction::Rollback { release }) => {
            let site = pick_site(&host, target)?;
            let plan = run::Plan { host: &host, site: &site, timeout };
            Ok(exit_code(rollback::rollback(&plan, release)?))
        }
        Some(DeployAction::Status { json }) => {
            let sites = site::load_all(&host)?;
            let sites: Vec<Site> = match &target.site {
                Some(name) => sites.into_iter().filter(|s| &s.name == name).collect(),
                None => sites,
            };
            status::print(&host, &sites, json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn exit_code(outcome: Outcome) -> ExitCode {
    if outcome == Outcome::Deployed { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The site named by --site, or the server's only one (staging copies aside).
fn pick_site(host: &Host, target: &Target) -> anyhow::Result<Site> {
    let sites = site::load_all(host)?;
    if let Some(name) = &target.site {
        return sites.into_iter().find(|s| &s.name == name).with_context(|| format!("no site {name} here"));
    }
    let mut sites: Vec<Site> = sites.into_iter().filter(|s| s.staging.is_none()).collect();
    match sites.len() {
        1 => Ok(sites.remove(0)),
        0 => anyhow::bail!("no site on this server: `shoestring server setup --domain …` first"),
        _ => {
            let names: Vec<String> = sites.iter().map(|s| s.name.to_string()).collect();
            anyhow::bail!("this server has several sites ({}): choose one with --site", names.join(", "))
        }
    }
}

/// The same command on the server over SSH: the tool itself is copied there first, and the
/// release binary (when it is another file) uploaded beside it; the server does the rest.
fn remote(args: &DeployArgs, remote: Remote) -> anyhow::Result<ExitCode> {
    remote.copy_self()?;
    let target = &args.target;
    let mut argv: Vec<String> = vec![BINARY.into(), "deploy".into()];
    let mut uploaded = None;
    match &args.action {
        None => {
            let options = &args.options;
            argv.extend(["--keep".into(), options.keep.to_string()]);
            if options.staging {
                argv.push("--staging".into());
            }
            let this = std::env::current_exe()?;
            let release = match &options.binary {
                Some(path) if !same_file(path, &this) => {
                    let path = remote.upload(path)?;
                    uploaded = Some(path.clone());
                    path
                }
                _ => BINARY.into(),
            };
            argv.push(release);
        }
        Some(DeployAction::Rollback { release }) => {
            argv.push("rollback".into());
            argv.extend(release.clone());
        }
        Some(DeployAction::Status { json }) => {
            argv.push("status".into());
            if *json {
                argv.push("--json".into());
            }
        }
    }
    argv.extend(["--local".into(), "--timeout".into(), target.timeout.to_string()]);
    if let Some(name) = &target.site {
        argv.extend(["--site".into(), name.to_string()]);
    }
    let code = remote.run(&argv, None);
    if let Some(path) = uploaded {
        let _ = remote.run(&["rm".into(), "-f".into(), path], None);
    }
    code
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    let canonical = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| PathBuf::from(p));
    canonical(a) == canonical(b)
}
