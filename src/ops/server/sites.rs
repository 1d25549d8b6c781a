//! `server site add|list|remove`: one site at a time, then the shared Caddyfile again. Removing
//! stops the site and takes it out of the proxy; its data, secrets, user and database stay unless
//! `--purge`, so a removal by mistake is undone by adding the site again. A staging site is always
//! purged: a copy of production's data must not outlive its use.

use std::process::ExitCode;

use super::cli::{SiteAddArgs, SiteCommand};
use super::host::Host;
use super::site::{self, DbKind, Site};
use super::step::{Run, run_step};
use super::{caddy, checks, finish, join, new_site, postgres, site_steps, smtp_for, units};

pub fn run(host: &Host, command: SiteCommand, smtp_url: Option<&str>) -> anyhow::Result<ExitCode> {
    match command {
        SiteCommand::Add(args) => add(host, &args, smtp_url),
        SiteCommand::List(_) => {
            list(host)?;
            Ok(ExitCode::SUCCESS)
        }
        SiteCommand::Join(args) => join::join(&args),
        SiteCommand::Leave(args) => join::leave(&args),
        SiteCommand::Admit { name, address, remove } => join::admit(host, &name, address, remove),
        SiteCommand::Export { name } => {
            join::export(host, &name)?;
            Ok(ExitCode::SUCCESS)
        }
        SiteCommand::Accept { name, address, front_address } => join::accept(host, &name, address, front_address),
        SiteCommand::Remove { name, purge, common } => {
            let sites = site::load_all(host)?;
            let site = sites.iter().find(|s| s.name == name).ok_or_else(|| anyhow::anyhow!("no site {name}"))?;
            remove(host, site, purge || site.staging.is_some(), common.dry_run)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn add(host: &Host, args: &SiteAddArgs, smtp_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let smtp = smtp_for(&args.site, smtp_url)?;
    let dry_run = args.common.dry_run;
    let site = new_site(host, args.name.clone(), args.domain.clone(), &args.site)?;
    let mut run = Run { to_stderr: args.common.json, ..Run::default() };
    let options = site_steps::Options { smtp_url: smtp.as_deref(), dry_run };
    site_steps::converge(host, &site, &options, &mut run)?;
    let mut sites = site::load_all(host)?;
    if dry_run {
        sites.retain(|s| s.name != site.name);
        sites.push(site.clone());
        sites.sort_by(|a, b| a.name.cmp(&b.name));
    }
    run_step(host, &caddy::step(&sites), dry_run, &mut run)?;
    run.print_summary(dry_run);
    if dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    Ok(finish(&checks::host_report(host, std::slice::from_ref(&site)), &args.common))
}

fn list(host: &Host) -> anyhow::Result<()> {
    println!("{:<16} {:<28} {:<9} {:<6} {:<9} {:<9} state", "name", "domain", "db", "port", "tls", "instances");
    for site in site::load_all(host)? {
        let states: Vec<String> = site
            .instances()
            .iter()
            .map(|i| {
                let state = host.run(&["systemctl", "is-active", &i.service()]).unwrap_or_default();
                if state.trim().is_empty() { "inactive".to_owned() } else { state.trim().to_owned() }
            })
            .collect();
        let state = states.join(",");
        let db = if site.db == DbKind::Postgres { "postgres" } else { "sqlite" };
        let tls = format!("{:?}", site.tls).to_lowercase();
        let domain = match &site.staging {
            Some(staging) => format!("{}.{} (staging of {})", staging.label, site.domain, staging.of),
            None => site.domain.to_string(),
        };
        println!(
            "{:<16} {:<28} {:<9} {:<6} {:<9} {:<9} {state}",
            site.name.to_string(),
            domain,
            db,
            site.port,
            tls,
            site.instances
        );
    }
    Ok(())
}

/// Adds `site` and calls `fill` once its folders, env file and database exist and before its units
/// start: a staging copy restores production's data there. A site that fails on the way is
/// removed with everything it had, so no half-made copy of production stays behind.
pub fn add_filled(host: &Host, site: &Site, fill: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut run = Run::default();
    let options = site_steps::Options { smtp_url: None, dry_run: false };
    let added = site_steps::prepare(host, site, &options, &mut run)
        .and_then(|()| fill())
        .and_then(|()| site_steps::start_units(host, site, &options, &mut run, 0))
        .and_then(|()| run_step(host, &caddy::step(&site::load_all(host)?), false, &mut run));
    if let Err(err) = added {
        if let Err(cleanup) = remove(host, site, true, false) {
            eprintln!("error: removing the half-made site {} failed too: {cleanup:#}", site.name);
        }
        return Err(err.context(format!("site {} was not made, and what had been made of it is removed", site.name)));
    }
    Ok(())
}

pub fn remove(host: &Host, site: &Site, purge: bool, dry_run: bool) -> anyhow::Result<()> {
    let instances = site.instances();
    let units: Vec<String> = instances.iter().flat_map(|i| [i.socket(), i.service()]).collect();
    let plan = format!("stop and remove {}; take {} out of Caddy", units.join(", "), site.app_host());
    if dry_run {
        println!("  plan     {plan}{}", if purge { "; delete its data, secrets, user and database" } else { "" });
        return Ok(());
    }
    for instance in &instances {
        units::remove_instance(host, instance)?;
    }
    host.remove(&site.record_path())?;
    let remaining = site::load_all(host)?;
    let mut run = Run::default();
    // An app machine's site had a firewall rule for its front machine.
    run_step(host, &super::firewall(host, &remaining)?, false, &mut run)?;
    run_step(host, &caddy::step(&remaining), false, &mut run)?;
    println!("  changed  site {}: {plan}", site.name);
    if purge {
        purge_site(host, site)?;
    } else {
        println!("  kept     {}, {} and the system user {}", site.data_dir(), site.env_file(), site.user());
    }
    Ok(())
}

fn purge_site(host: &Host, site: &Site) -> anyhow::Result<()> {
    // An app machine's database is the front machine's, and stays.
    let local_db = site.local_postgres();
    if local_db {
        let role = site.db_role();
        postgres::admin_sql(host, &format!("DROP DATABASE IF EXISTS {role} WITH (FORCE);"))?;
        postgres::admin_sql(host, &format!("DROP ROLE IF EXISTS {role};"))?;
        postgres::admin_sql(host, &format!("DROP ROLE IF EXISTS {};", site.drill_role()))?;
    }
    std::fs::remove_dir_all(host.path(&site.data_dir())).or_else(ignore_missing)?;
    std::fs::remove_dir_all(host.path(&site.deploy_dir())).or_else(ignore_missing)?;
    host.remove(&site.env_file())?;
    if host.user_exists(&site.user())? {
        host.run(&["userdel", &site.user()])?;
    }
    println!(
        "  purged   {}, {}, {}, user {}{}",
        site.data_dir(),
        site.deploy_dir(),
        site.env_file(),
        site.user(),
        if local_db { format!(", database {}", site.db_role()) } else { String::new() }
    );
    Ok(())
}

fn ignore_missing(err: std::io::Error) -> std::io::Result<()> {
    if err.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(err) }
}
