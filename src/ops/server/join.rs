//! `server site join NAME --front USER@FRONT --host USER@APP --address IP`: one site on several
//! machines. The front machine keeps what there is one of — Caddy, PostgreSQL, the backups — and
//! each app machine runs the same instances on its private address. The laptop drives both:
//! it reads the site's record and settings from the front (`export`), lets the new machine in
//! there (`admit`: its address in the record, Caddy's upstreams, a firewall rule and a pg_hba
//! line for PostgreSQL), then sets the site up on the new machine (`accept`: the front's
//! secrets, its database over the private network, a socket open to the front machine only).
//! The settings travel over the two SSH connections, never on a command line or in a file
//! outside `/etc/shoestring`. `leave` undoes it: out of the front's record first, then the site
//! purged from the app machine.

use std::io::Read as _;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::cli::{Common, JoinArgs};
use super::host::Host;
use super::packages::Packages;
use super::remote::Remote;
use super::site::{self, DbKind, Joined, Site, SiteName};
use super::site_steps::{self, SiteBase};
use super::step::{Run, run_step};
use super::units::BINARY;
use super::{checks, env_file, finish, postgres, release};

/// What an app machine needs of the front machine's site.
#[derive(Serialize, Deserialize)]
struct Export {
    site: Site,
    /// The front machine's env file: SECRET_KEY, the database password, MEDIA_STORE, SMTP, …
    env: String,
    pg_port: u16,
    /// The front machine's current release, which the app machine should run too.
    release: Option<String>,
}

/// The laptop's part: export from the front, admit there, accept on the new machine.
pub fn join(args: &JoinArgs) -> anyhow::Result<ExitCode> {
    let (app, front) = remotes(args)?;
    let front_address = match args.front_address {
        Some(address) => address,
        None => front.hostname().parse().context("--front-address: the front machine's private address")?,
    };
    let name = args.name.to_string();
    let export = front.output(&command(&["export", &name]))?;
    eprintln!("site {name}: letting {} in on {}", args.address, front.target);
    succeeded(front.run(&command(&["admit", &name, "--address", &args.address.to_string()]), None)?)?;
    eprintln!("site {name}: setting it up on {}", app.target);
    let (address, front_address) = (args.address.to_string(), front_address.to_string());
    let accept = command(&["accept", &name, "--address", &address, "--front-address", &front_address]);
    app.run(&accept, Some(&export))
}

/// The laptop's part of `leave`: the front machine lets the app machine go first (no request is
/// sent to it once Caddy has reloaded), then the site is purged from the app machine: its copy of
/// the front's secrets goes with it. The database, the front's, stays.
pub fn leave(args: &JoinArgs) -> anyhow::Result<ExitCode> {
    let (app, front) = remotes(args)?;
    let name = args.name.to_string();
    eprintln!("site {name}: letting {} go on {}", args.address, front.target);
    let admit = command(&["admit", &name, "--address", &args.address.to_string(), "--remove"]);
    succeeded(front.run(&admit, None)?)?;
    eprintln!("site {name}: removing it from {}", app.target);
    app.run(&command(&["remove", &name, "--purge"]), None)
}

/// The app machine (--host) and the front machine (--front), each with this binary on it.
fn remotes(args: &JoinArgs) -> anyhow::Result<(Remote, Remote)> {
    anyhow::ensure!(!args.common.dry_run, "no --dry-run here: this changes two machines, each in checked steps");
    let options = args.common.ssh_options.clone();
    let target = args.common.host.clone().context("--host USER@HOST: the app machine")?;
    let app = Remote { target, options: options.clone() };
    let front = Remote { target: args.front.clone(), options };
    front.copy_self()?;
    app.copy_self()?;
    Ok((app, front))
}

/// `shoestring server site WORDS…` as the server runs it.
fn command(words: &[&str]) -> Vec<String> {
    [BINARY, "server", "site"].iter().chain(words).map(|w| (*w).to_owned()).collect()
}

fn succeeded(code: ExitCode) -> anyhow::Result<()> {
    anyhow::ensure!(code == ExitCode::SUCCESS, "the front machine refused; nothing was changed on the app machine");
    Ok(())
}

fn find(sites: &[Site], name: &SiteName) -> anyhow::Result<Site> {
    sites.iter().find(|s| &s.name == name).cloned().with_context(|| format!("no site {name} here"))
}

/// Prints the front machine's site for `accept`.
pub fn export(host: &Host, name: &SiteName) -> anyhow::Result<()> {
    let site = find(&site::load_all(host)?, name)?;
    front_site(&site)?;
    let env = host.read(&site.env_file())?.with_context(|| format!("no {}", site.env_file()))?;
    let export = Export { env, pg_port: postgres::port(host)?, release: release::current(host, &site)?, site };
    println!("{}", serde_json::to_string(&export)?);
    Ok(())
}

/// Only a production PostgreSQL site of this machine can grow to others: SQLite is one file on
/// one disk, and an app machine's site is already the front machine's.
fn front_site(site: &Site) -> anyhow::Result<()> {
    anyhow::ensure!(
        site.db == DbKind::Postgres,
        "site {}: several machines share one database, which SQLite cannot serve over a network; \
         move it to PostgreSQL first (docs/scaling.md)",
        site.name
    );
    anyhow::ensure!(site.joined.is_none(), "site {} here is itself an app machine", site.name);
    anyhow::ensure!(site.staging.is_none(), "site {} is a staging copy", site.name);
    Ok(())
}

/// The front machine's part: the app machine joins (or with `remove` leaves) the record, Caddy's
/// upstreams, the firewall and pg_hba.conf. Its own instances are restarted once when they first
/// get a drain file, and when the last app machine leaves.
pub fn admit(host: &Host, name: &SiteName, address: IpAddr, remove: bool) -> anyhow::Result<ExitCode> {
    let mut site = find(&site::load_all(host)?, name)?;
    front_site(&site)?;
    if remove {
        site.app_machines.retain(|a| *a != address);
    } else if !site.app_machines.contains(&address) {
        site.app_machines.push(address);
    }
    let mut run = Run::default();
    site_steps::converge(host, &site, &site_steps::Options { smtp_url: None, dry_run: false }, &mut run)?;
    // The site's steps wrote its new record: every site as recorded now.
    let sites = site::load_all(host)?;
    run_step(host, &super::firewall(host, &sites)?, false, &mut run)?;
    super::serving_steps(host, &sites, false, &mut run)?;
    run.print_summary(false);
    Ok(ExitCode::SUCCESS)
}

/// The new machine's part, from the export on stdin: the PostgreSQL client tools (an app
/// machine may run a scheduled backup: the job queue is shared), the site as the front machine
/// has it with this machine's address, the front's settings, its units, and the firewall.
pub fn accept(host: &Host, name: &SiteName, address: IpAddr, front_address: IpAddr) -> anyhow::Result<ExitCode> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let export: Export = serde_json::from_str(&input).context("reading the front machine's export")?;
    anyhow::ensure!(&export.site.name == name, "the export is of site {}, not {name}", export.site.name);
    let sites = site::load_all(host)?;
    if let Some(existing) = sites.iter().find(|s| &s.name == name) {
        anyhow::ensure!(existing.joined.is_some(), "site {name} already runs here on its own");
    }
    let site = Site {
        joined: Some(Joined { address, database: SocketAddr::new(front_address, export.pg_port) }),
        app_machines: vec![],
        admin_allow: vec![],
        static_root: None,
        ..export.site
    };
    if let Some(other) = sites.iter().find(|s| &s.name != name && s.port == site.port) {
        anyhow::bail!(
            "site {} here uses port {}, which the front machine proxies to for {name}",
            other.name,
            site.port
        );
    }
    let mut run = Run::default();
    run_step(host, &Packages { names: vec!["postgresql-client"], offline: false }, false, &mut run)?;
    run_step(host, &SiteBase { site: site.clone() }, false, &mut run)?;
    // The front machine's file, which the site's steps then point at this machine.
    host.write(&env_file::spec(&site, export.env))?;
    site_steps::converge(host, &site, &site_steps::Options { smtp_url: None, dry_run: false }, &mut run)?;
    let sites = site::load_all(host)?;
    run_step(host, &super::firewall(host, &sites)?, false, &mut run)?;
    super::serving_steps(host, &sites, false, &mut run)?;
    run.print_summary(false);
    let here = release::current(host, &site)?;
    if here != export.release {
        println!(
            "  note     this machine runs {} and the front machine {}: `shoestring deploy --host FRONT --host THIS` \
             puts one release on both",
            here.unwrap_or_default(),
            export.release.unwrap_or_default()
        );
    }
    let common = Common { host: None, ssh_options: vec![], dry_run: false, json: false };
    Ok(finish(&checks::host_report(host, std::slice::from_ref(&site)), &common))
}
