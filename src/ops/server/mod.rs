//! `shoestring server`: from a fresh Debian 12 / Ubuntu 22.04+ machine to HTTPS, with several
//! sites on it. Every step is check → apply → verify (`step.rs`), so a second run changes
//! nothing and says so; the end is a host report (`checks.rs`) in the shared format. It runs on
//! the server as root, or drives one over SSH (`remote.rs`). It uses the kernel, never an app.

mod binary;
mod caddy;
mod checks;
pub mod cli;
mod cloud_init;
mod config_step;
pub mod env_file;
mod hardening;
pub mod host;
mod join;
mod packages;
mod postgres;
pub mod release;
pub mod remote;
pub mod site;
mod site_steps;
pub mod sites;
mod ssh;
mod step;
pub mod units;
mod users;

use std::io::BufRead as _;
use std::process::ExitCode;

use cli::{Common, Phase, ServerArgs, ServerCommand, SetupArgs, SiteCommand, SiteOptions};
use host::Host;
use remote::Remote;
use site::{DbKind, Domain, Site, SiteName};
use step::{Run, run_step};

use crate::ops::report::Report;

/// Runs a `server` subcommand; `smtp_url` is the global SMTP_URL setting, given to new sites.
pub fn main(args: ServerArgs, smtp_url: Option<&str>) -> ExitCode {
    match dispatch(args, smtp_url) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: ServerArgs, smtp_url: Option<&str>) -> anyhow::Result<ExitCode> {
    // Two machines: the laptop drives each over SSH in turn.
    match &args.command {
        ServerCommand::Site { command: SiteCommand::Join(join_args) } => return join::join(join_args),
        ServerCommand::Site { command: SiteCommand::Leave(leave_args) } => return join::leave(leave_args),
        _ => {}
    }
    if let Some(common) = common_of(&args.command).filter(|c| c.host.is_some()) {
        return drive_remote(&args.command, common, smtp_url);
    }
    if let ServerCommand::CloudInit(options) = &args.command {
        print!("{}", cloud_init::render(options)?);
        return Ok(ExitCode::SUCCESS);
    }
    let host = Host::system();
    anyhow::ensure!(
        rustix::process::geteuid().is_root(),
        "run this as root on the server, or from your computer with --host root@SERVER"
    );
    match args.command {
        ServerCommand::Setup(setup_args) => {
            let smtp = smtp_for(&setup_args.site, smtp_url)?;
            setup(&host, &setup_args, smtp.as_deref())
        }
        ServerCommand::Site { command } => sites::run(&host, command, smtp_url),
        ServerCommand::Check(common) => Ok(finish(&checks::host_report(&host, &site::load_all(&host)?), &common)),
        ServerCommand::AdminUser { admin_user } => {
            run_step(&host, &users::AdminUser { name: admin_user }, false, &mut Run::default())?;
            Ok(ExitCode::SUCCESS)
        }
        ServerCommand::CloudInit(_) => Ok(ExitCode::SUCCESS),
    }
}

fn common_of(command: &ServerCommand) -> Option<&Common> {
    match command {
        ServerCommand::Setup(args) => Some(&args.common),
        ServerCommand::Check(common) => Some(common),
        ServerCommand::Site { command: SiteCommand::Add(args) } => Some(&args.common),
        ServerCommand::Site { command: SiteCommand::List(common) } => Some(common),
        ServerCommand::Site { command: SiteCommand::Remove { common, .. } } => Some(common),
        ServerCommand::Site { command: SiteCommand::Join(args) | SiteCommand::Leave(args) } => Some(&args.common),
        ServerCommand::Site {
            command: SiteCommand::Admit { .. } | SiteCommand::Export { .. } | SiteCommand::Accept { .. },
        }
        | ServerCommand::CloudInit(_)
        | ServerCommand::AdminUser { .. } => None,
    }
}

/// The SMTP URL for a new site: from stdin when driven over SSH, else the global setting.
pub(crate) fn smtp_for(options: &SiteOptions, global: Option<&str>) -> anyhow::Result<Option<String>> {
    if options.smtp_url_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let line = line.trim().to_owned();
        return Ok((!line.is_empty()).then_some(line));
    }
    Ok(global.map(str::to_owned))
}

/// Prints the report as text or JSON; its errors decide the exit status.
pub(crate) fn finish(report: &Report, common: &Common) -> ExitCode {
    if common.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    report.exit_code()
}

/// The site named by setup's --domain (and --site), keeping the port of an existing one.
pub(crate) fn new_site(host: &Host, name: SiteName, domain: Domain, options: &SiteOptions) -> anyhow::Result<Site> {
    let sites = site::load_all(host)?;
    anyhow::ensure!(
        !sites.iter().any(|s| s.domain == domain && s.name != name && s.staging.is_none()),
        "the domain {domain} already belongs to another site"
    );
    anyhow::ensure!(
        options.instances == 1 || options.db == DbKind::Postgres,
        "site {name}: several instances share one database, which SQLite cannot serve to several processes \
         well; add --db postgres (`shoestring db copy` moves the data)"
    );
    // Another run of `site add` or `setup` keeps the app machines a `site join` added.
    let kept = sites.iter().find(|s| s.name == name);
    anyhow::ensure!(
        kept.is_none_or(|s| s.joined.is_none()),
        "site {name} here is an app machine of the site on {}: change it there",
        kept.and_then(|s| s.joined.as_ref()).map(|j| j.database.ip().to_string()).unwrap_or_default()
    );
    Ok(Site {
        port: site::free_port(&sites, &name),
        name,
        domain,
        db: options.db,
        tls: options.tls,
        admin_allow: options.admin_allow.clone(),
        static_root: options.static_root.clone(),
        instances: options.instances,
        staging: None,
        app_machines: kept.map(|s| s.app_machines.clone()).unwrap_or_default(),
        joined: None,
    })
}

fn setup(host: &Host, args: &SetupArgs, smtp_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let dry_run = args.common.dry_run;
    let mut run = Run { to_stderr: args.common.json, ..Run::default() };
    let mut sites = site::load_all(host)?;
    if let Some(domain) = &args.domain {
        let first_label = domain.to_string().split('.').next().unwrap_or_default().replace('-', "");
        let name = match &args.site.site_name {
            Some(name) => name.clone(),
            None => first_label.parse().map_err(anyhow::Error::msg)?,
        };
        let wanted = new_site(host, name, domain.clone(), &args.site)?;
        sites.retain(|s| s.name != wanted.name);
        sites.push(wanted);
        sites.sort_by(|a, b| a.name.cmp(&b.name));
    }
    let postgres = sites.iter().any(|s| s.db == site::DbKind::Postgres);
    let offline = args.phase == Phase::Configure;
    run_step(host, &packages::Packages { names: packages::wanted(postgres), offline }, dry_run, &mut run)?;
    if args.phase == Phase::Packages {
        run.print_summary(dry_run);
        return Ok(ExitCode::SUCCESS);
    }
    host_steps(host, &args.admin_user, &sites, dry_run, &mut run)?;
    let options = site_steps::Options { smtp_url, dry_run };
    for site in &sites {
        site_steps::converge(host, site, &options, &mut run)?;
    }
    serving_steps(host, &sites, dry_run, &mut run)?;
    run.print_summary(dry_run);
    if dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let mut report = checks::host_report(host, &sites);
    report.extend(run.blocked());
    Ok(finish(&report, &args.common))
}

/// The host's own steps, in an order that never locks the operator out: the sudo user first,
/// the firewall (which allows SSH in the same transaction as its drop policy), and SSH last.
fn host_steps(host: &Host, admin_user: &str, sites: &[Site], dry_run: bool, run: &mut Run) -> anyhow::Result<()> {
    run_step(host, &binary::Binary, dry_run, run)?;
    run_step(host, &users::AdminUser { name: admin_user.to_owned() }, dry_run, run)?;
    let ports = ssh::SshdSettings::read(host)?.ports();
    run_step(host, &firewall(host, sites)?, dry_run, run)?;
    run_step(host, &hardening::fail2ban(&ports), dry_run, run)?;
    run_step(host, &hardening::unattended_upgrades(), dry_run, run)?;
    run_step(host, &hardening::journald(), dry_run, run)?;
    run_step(host, &ssh::SshLockdown { admin_user: admin_user.to_owned() }, dry_run, run)?;
    run_step(host, &hardening::caddy_service(), dry_run, run)?;
    Ok(())
}

/// The firewall for this machine's sites; PostgreSQL's port is asked only where a site here
/// lets app machines reach it.
pub(crate) fn firewall(host: &Host, sites: &[Site]) -> anyhow::Result<config_step::ConfigStep> {
    let ports = ssh::SshdSettings::read(host)?.ports();
    let pg_port = if sites.iter().any(|s| !s.app_machines.is_empty()) { postgres::port(host)? } else { 5432 };
    Ok(hardening::firewall(ports, sites, pg_port))
}

/// What this machine's sites share once each is in place: PostgreSQL's reach to app machines
/// (where a site here uses the local server) and the Caddyfile.
pub(crate) fn serving_steps(host: &Host, sites: &[Site], dry_run: bool, run: &mut Run) -> anyhow::Result<()> {
    if sites.iter().any(Site::local_postgres) && !dry_run {
        for step in postgres::remote_access(host, sites)? {
            run_step(host, &step, dry_run, run)?;
        }
    }
    run_step(host, &caddy::step(sites), dry_run, run)
}

/// The same subcommand on the server over SSH: copy the binary, prove the sudo user's login,
/// run it there. Secrets travel on stdin, never on a command line.
fn drive_remote(command: &ServerCommand, common: &Common, smtp_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let remote = Remote { target: common.host.clone().unwrap_or_default(), options: common.ssh_options.clone() };
    remote.copy_self()?;
    let mut argv = vec![units::BINARY.to_owned()];
    argv.extend(forwarded_args(std::env::args().skip(1)));
    let mut input = None;
    let adds_site = matches!(command, ServerCommand::Site { command: SiteCommand::Add(_) })
        || matches!(command, ServerCommand::Setup(args) if args.domain.is_some());
    if let (true, Some(url)) = (adds_site, smtp_url) {
        argv.push("--smtp-url-stdin".into());
        input = Some(format!("{url}\n"));
    }
    if let ServerCommand::Setup(args) = command
        && !common.dry_run
    {
        let admin = [units::BINARY, "server", "admin-user", "--admin-user", &args.admin_user].map(String::from);
        remote.run(&admin, None)?;
        remote.login_check(&args.admin_user);
    }
    remote.run(&argv, input.as_deref())
}

/// The command line minus what only the laptop needs (--host, --ssh-option, --smtp-url).
pub fn forwarded_args(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip_next = false;
    for arg in args {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        let name = arg.split('=').next().unwrap_or_default();
        if matches!(name, "--host" | "--ssh-option" | "--smtp-url") {
            skip_next = !arg.contains('=');
            continue;
        }
        out.push(arg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laptop_only_flags_and_secrets_are_not_forwarded() {
        let args =
            ["server", "site", "add", "blog", "--host", "root@h", "--domain=example.com", "--ssh-option=Port=2222"]
                .into_iter()
                .chain(["--smtp-url", "smtps://u:secret@m", "--db", "postgres"])
                .map(String::from);

        let forwarded = forwarded_args(args);

        assert_eq!(forwarded, ["server", "site", "add", "blog", "--domain=example.com", "--db", "postgres"]);
    }
}
