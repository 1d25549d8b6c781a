//! `server site add|list|remove`: one site at a time, then the shared Caddyfile again. Removing
//! stops the site and takes it out of the proxy; its data, secrets, user and database stay unless
//! `--purge`, so a removal by mistake is undone by adding the site again.

use std::process::ExitCode;

use super::cli::{Common, SiteAddArgs, SiteCommand};
use super::host::Host;
use super::site::{self, DbKind, Site};
use super::step::{Run, run_step};
use super::{caddy, checks, finish, new_site, postgres, site_steps, smtp_for, units};

pub fn run(host: &Host, command: SiteCommand, smtp_url: Option<&str>) -> anyhow::Result<ExitCode> {
    match command {
        SiteCommand::Add(args) => add(host, &args, smtp_url),
        SiteCommand::List(_) => {
            list(host)?;
            Ok(ExitCode::SUCCESS)
        }
        SiteCommand::Remove { name, purge, common } => {
            let sites = site::load_all(host)?;
            let site = sites.iter().find(|s| s.name == name).ok_or_else(|| anyhow::anyhow!("no site {name}"))?;
            remove(host, site, purge, &common)?;
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
        println!(
            "{:<16} {:<28} {:<9} {:<6} {:<9} {:<9} {state}",
            site.name.to_string(),
            site.domain.to_string(),
            db,
            site.port,
            tls,
            site.instances
        );
    }
    Ok(())
}

fn remove(host: &Host, site: &Site, purge: bool, common: &Common) -> anyhow::Result<()> {
    let instances = site.instances();
    let units: Vec<String> = instances.iter().flat_map(|i| [i.socket(), i.service()]).collect();
    let plan = format!("stop and remove {}; take {} out of Caddy", units.join(", "), site.domain);
    if common.dry_run {
        println!("  plan     {plan}{}", if purge { "; delete its data, secrets, user and database" } else { "" });
        return Ok(());
    }
    for instance in &instances {
        units::remove_instance(host, instance)?;
    }
    host.remove(&site.record_path())?;
    let remaining = site::load_all(host)?;
    run_step(host, &caddy::step(&remaining), false, &mut Run::default())?;
    println!("  changed  site {}: {plan}", site.name);
    if purge {
        purge_site(host, site)?;
    } else {
        println!("  kept     {}, {} and the system user {}", site.data_dir(), site.env_file(), site.user());
    }
    Ok(())
}

fn purge_site(host: &Host, site: &Site) -> anyhow::Result<()> {
    if site.db == DbKind::Postgres {
        let role = site.db_role();
        postgres::admin_sql(host, &format!("DROP DATABASE IF EXISTS {role} WITH (FORCE);"))?;
        postgres::admin_sql(host, &format!("DROP ROLE IF EXISTS {role};"))?;
        postgres::admin_sql(host, &format!("DROP ROLE IF EXISTS {};", site.drill_role()))?;
    }
    std::fs::remove_dir_all(host.path(&site.data_dir())).or_else(ignore_missing)?;
    host.remove(&site.env_file())?;
    if host.user_exists(&site.user())? {
        host.run(&["userdel", &site.user()])?;
    }
    println!(
        "  purged   {}, {}, user {}{}",
        site.data_dir(),
        site.env_file(),
        site.user(),
        if site.db == DbKind::Postgres { format!(", database {}", site.db_role()) } else { String::new() }
    );
    Ok(())
}

fn ignore_missing(err: std::io::Error) -> std::io::Result<()> {
    if err.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(err) }
}
