//! `shoestring deploy --staging`: the playbook's staging droplet, on the same server and made in
//! one command. A new site named by two random words (`brave-otter.DOMAIN`, the way the
//! playbook's generate_subdomain.py names one) runs the new release on a restored copy of a
//! backup production's running release takes now. It sends no mail (MAIL_OUTBOX: every message
//! stays in its outbox table) and is not indexed; `shoestring server site remove NAME` deletes it
//! with its data, database and secrets. Production is only read: its backup is the one change,
//! and that archive is moved into the copy and deleted once restored.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::run::{as_site_with, backup_to, last_line};
use super::{probe, words};
use crate::kernel::clock::Clock;
use crate::ops::server::env_file;
use crate::ops::server::host::{FileSpec, Host};
use crate::ops::server::release;
use crate::ops::server::site::{self, Site, Staging};
use crate::ops::server::sites;

/// Makes a staging copy of `production` running `binary`; returns it once it answers ready.
pub fn create(host: &Host, production: &Site, binary: &Path, timeout: Duration) -> anyhow::Result<Site> {
    anyhow::ensure!(
        production.staging.is_none(),
        "site {} is itself a staging copy; stage from the site it copies",
        production.name
    );
    anyhow::ensure!(
        production.joined.is_none(),
        "site {} here is an app machine of another; stage on its front machine",
        production.name
    );
    let _ = rustix::process::setpriority_process(None, 10);
    let running = release::current(host, production)?
        .with_context(|| format!("site {} has no current release: run `shoestring server setup`", production.name))?;
    let identity = release::identify(host, binary)?;
    let name = release::install(host, binary, &identity)?;
    let sites = site::load_all(host)?;
    let taken: Vec<String> = sites.iter().map(|s| s.name.to_string()).collect();
    let label = words::pick(&taken);
    let staging = Site {
        name: label.site_name(),
        port: site::free_port(&sites, &label.site_name()),
        static_root: None,
        instances: 1,
        staging: Some(Staging { of: production.name.clone(), label, created_at: Clock::default().now() }),
        app_machines: vec![],
        ..production.clone()
    };
    println!("site {}: staging copy {} with {name} (production runs {running})", production.name, staging.name);
    let archive = backup_to(host, production, &release::binary_in(&running), Some(&production.backups_dir()))?;
    println!("  backed up  {archive} (by {running})");
    release::switch(host, &staging, &name)?;
    sites::add_filled(host, &staging, || restore(host, production, &staging, &name, &archive))?;
    if let Err(err) = probe::wait_ready(host, &staging.instance(1), &identity.commit, timeout) {
        sites::remove(host, &staging, true, false)?;
        return Err(err.context(format!("the staging copy did not become ready and was removed; {name} is not fit")));
    }
    println!("  ready      https://{}/ (console: https://{}/)", staging.app_host(), staging.admin_host());
    println!(
        "  mail       none is sent (MAIL_OUTBOX): staff read it at https://{}/admin/outbox/",
        staging.admin_host()
    );
    println!("  remove it  shoestring server site remove {} (its data, database and secrets go too)", staging.name);
    Ok(staging)
}

/// Restores `archive` into the new site as the site itself, with the new release. The archive
/// moves into a private folder of the copy, and production's archive keys (when it has any)
/// reach this one command through a root-only env file; both are deleted afterwards.
fn restore(host: &Host, production: &Site, staging: &Site, release_name: &str, archive: &str) -> anyhow::Result<()> {
    let dir = format!("{}/restore", staging.data_dir());
    let keys_file = format!("/etc/shoestring/{}.restore.env", staging.name);
    let restored = (|| {
        host.ensure_dir(&dir, 0o700, &staging.user(), &staging.user())?;
        let file_name = Path::new(archive).file_name().context("the archive has no file name")?.to_string_lossy();
        let moved = format!("{dir}/{file_name}");
        std::fs::rename(host.path(archive), host.path(&moved)).context("moving the archive into the copy")?;
        let (uid, gid) = host.ids(&staging.user(), &staging.user())?;
        std::os::unix::fs::chown(host.path(&moved), Some(uid), Some(gid))?;
        let keys = archive_keys(host, production, staging, &dir)?;
        host.write(&FileSpec {
            path: keys_file.clone(),
            content: keys,
            mode: 0o600,
            owner: "root".into(),
            group: "root".into(),
        })?;
        let binary = host.path(&release::binary_in(release_name));
        let binary = binary.to_str().context("the release path is not UTF-8")?;
        let out = as_site_with(host, staging, binary, &["restore", &moved], &[&keys_file])?;
        println!("  restored   {}", last_line(&out));
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(host.path(&dir));
    let _ = host.remove(&keys_file);
    restored
}

/// The lines that open production's archives: its passphrase, and its identity file copied
/// into `dir` for the copy's user (production's own file is readable by production only).
fn archive_keys(host: &Host, production: &Site, staging: &Site, dir: &str) -> anyhow::Result<String> {
    let env = env_file::parse(&host.read(&production.env_file())?.unwrap_or_default());
    let mut lines = String::new();
    for (key, value) in env.iter().filter(|(_, v)| !v.is_empty()) {
        match key.as_str() {
            "BACKUP_PASSPHRASE" => lines.push_str(&format!("{key}={}\n", env_file::quote(value))),
            "BACKUP_IDENTITY_FILE" => {
                let identity = host.read(value)?.with_context(|| format!("no identity file {value}"))?;
                let copy = format!("{dir}/identity");
                let (user, group) = (staging.user(), staging.user());
                host.write(&FileSpec { path: copy.clone(), content: identity, mode: 0o600, owner: user, group })?;
                lines.push_str(&format!("{key}={copy}\n"));
            }
            _ => {}
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use super::*;
    use crate::ops::server::host::tempdir::TempDir;

    #[test]
    fn productions_archive_keys_reach_the_copy_and_nothing_else_does() {
        let dir = TempDir::new();
        let meta = std::fs::metadata(dir.path()).unwrap();
        let (uid, gid) = (meta.uid(), meta.gid());
        std::fs::create_dir_all(dir.path().join("etc/shoestring")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), format!("shoestring-braveotter:x:{uid}:{gid}::/:/bin/sh\n"))
            .unwrap();
        std::fs::write(dir.path().join("etc/group"), format!("shoestring-braveotter:x:{gid}:\n")).unwrap();
        std::fs::write(dir.path().join("etc/shoestring/key.txt"), "AGE-SECRET-KEY-1TEST\n").unwrap();
        let env = "DATABASE_URL=postgres://p:secret@127.0.0.1/blog\nSMTP_URL=smtps://u:p@mail\n\
                   BACKUP_PASSPHRASE=\"two words\"\nBACKUP_IDENTITY_FILE=/etc/shoestring/key.txt\n";
        std::fs::write(dir.path().join("etc/shoestring/blog.env"), env).unwrap();
        let host = Host::at(dir.path());
        let production = Site::example("blog", 8101);
        let staging = Site::example("braveotter", 8102);
        std::fs::create_dir_all(dir.path().join("restore")).unwrap();

        let lines = archive_keys(&host, &production, &staging, "/restore").unwrap();

        assert_eq!(lines, "BACKUP_PASSPHRASE=\"two words\"\nBACKUP_IDENTITY_FILE=/restore/identity\n");
        let copy = dir.path().join("restore/identity");
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), "AGE-SECRET-KEY-1TEST\n");
        assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
