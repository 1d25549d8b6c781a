//! The steps that bring one site to its wanted state, in order: its system user and folders and
//! record, its first release, its env file, its PostgreSQL role (when chosen), its units, and a
//! restart when its settings changed. `converge` runs them; Caddy is rendered afterwards for all.
//! A new binary reaches a running site through `shoestring deploy`, never through setup.

use super::config_step::{ConfigFile, ConfigStep, service_diffs};
use super::env_file;
use super::host::Host;
use super::postgres::{self, DrillRole, SiteDatabase};
use super::release;
use super::site::Site;
use super::step::{Outcome, Run, Step, run_step};
use super::units;

/// The site's system user (no shell, no home of its own), data and media folders (0700) and record.
pub struct SiteBase {
    pub site: Site,
}

impl SiteBase {
    fn dirs(&self) -> [(String, u32, String); 4] {
        [
            ("/var/lib/shoestring".into(), 0o755, "root".into()),
            (self.site.data_dir(), 0o700, self.site.user()),
            (self.site.media_dir(), 0o700, self.site.user()),
            ("/etc/shoestring".into(), 0o755, "root".into()),
        ]
    }
}

impl Step for SiteBase {
    fn name(&self) -> String {
        format!("site {}: user {}, {} (0700), record", self.site.name, self.site.user(), self.site.data_dir())
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        let user = self.site.user();
        if !host.user_exists(&user)? {
            return Ok(vec![format!("create system user {user}")]);
        }
        let mut diffs = Vec::new();
        for (dir, mode, owner) in self.dirs() {
            diffs.extend(host.dir_diff(&dir, mode, &owner, &owner)?);
        }
        diffs.extend(host.file_diff(&self.site.record()?)?);
        Ok(diffs)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        let user = self.site.user();
        if !host.user_exists(&user)? {
            let home = self.site.data_dir();
            let argv = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", &home];
            host.run(&[&argv[..], &["--shell", "/usr/sbin/nologin", &user]].concat())?;
        }
        for (dir, mode, owner) in self.dirs() {
            host.ensure_dir(&dir, mode, &owner, &owner)?;
        }
        host.write(&self.site.record()?)?;
        Ok(())
    }
}

/// Restarts the site's service because something it reads at start changed in this run.
pub struct Restart {
    pub unit: String,
    pub reasons: Vec<String>,
}

impl Step for Restart {
    fn name(&self) -> String {
        format!("restart {}", self.unit)
    }

    fn check(&self, _host: &Host) -> anyhow::Result<Vec<String>> {
        Ok(self.reasons.clone())
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        host.run(&["systemctl", "restart", &self.unit])?;
        Ok(())
    }

    fn verify(&self, host: &Host) -> anyhow::Result<()> {
        let left = service_diffs(host, &self.unit);
        anyhow::ensure!(left.is_empty(), "{} after the restart: {}", self.unit, left.join("; "));
        Ok(())
    }
}

pub struct Options<'a> {
    pub smtp_url: Option<&'a str>,
    pub dry_run: bool,
}

/// A new site's first release: the installed binary, linked as `current`. A site that has one
/// keeps it; later releases arrive with `shoestring deploy`.
pub struct FirstRelease {
    pub site: Site,
}

impl Step for FirstRelease {
    fn name(&self) -> String {
        format!("site {}: a current release", self.site.name)
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        if host.path(&self.site.current_binary()).exists() {
            return Ok(Vec::new());
        }
        Ok(vec![format!("install {} as a release in {} and link it as current", units::BINARY, release::RELEASES_DIR)])
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        let binary = host.path(units::BINARY);
        let name = release::install(host, &binary, &release::identify(host, &binary)?)?;
        release::switch(host, &self.site, &name)
    }
}

/// Runs every step of `site`.
pub fn converge(host: &Host, site: &Site, options: &Options<'_>, run: &mut Run) -> anyhow::Result<()> {
    let start = run.outcomes.len();
    prepare(host, site, options, run)?;
    start_units(host, site, options, run, start)
}

/// Everything before the units: user, folders, record, release, env file and database. A
/// staging site fills its database between this and `start_units`.
pub fn prepare(host: &Host, site: &Site, options: &Options<'_>, run: &mut Run) -> anyhow::Result<()> {
    run_step(host, &SiteBase { site: site.clone() }, options.dry_run, run)?;
    run_step(host, &FirstRelease { site: site.clone() }, options.dry_run, run)?;
    // An app machine uses the front machine's database and needs the secrets that come with it.
    if site.joined.is_some() {
        let existing = env_file::parse(&host.read(&site.env_file())?.unwrap_or_default());
        anyhow::ensure!(
            existing.iter().any(|(k, v)| k == "SECRET_KEY" && !v.is_empty()),
            "site {}: an app machine's settings come from its front machine: `shoestring server site join`",
            site.name
        );
    }
    let pg_port = if site.local_postgres() {
        let server = ConfigStep {
            name: "postgresql: running".into(),
            services: vec!["postgresql.service".into()],
            ..ConfigStep::default()
        };
        run_step(host, &server, options.dry_run, run)?;
        Some(postgres::port(host)?)
    } else {
        None
    };
    let inputs = env_file::Inputs { site, pg_port, smtp_url: options.smtp_url };
    let existing = host.read(&site.env_file())?;
    let rendered = env_file::render(&inputs, existing.as_deref());
    let env_text = env_file::parse(&rendered);
    anyhow::ensure!(
        site.staging.is_some() || env_text.iter().any(|(k, v)| k == "SMTP_URL" && !v.is_empty()),
        "site {}: production sends real email; pass --smtp-url smtps://user:pass@host:465 (it is kept in {})",
        site.name,
        site.env_file()
    );
    let env = ConfigStep {
        name: format!("site {}: {} (0640 root:{})", site.name, site.env_file(), site.user()),
        files: vec![ConfigFile::plain(env_file::spec(site, rendered))],
        ..ConfigStep::default()
    };
    run_step(host, &env, options.dry_run, run)?;
    if let Some(port) = pg_port {
        run_step(host, &SiteDatabase { site: site.clone(), port }, options.dry_run, run)?;
        run_step(host, &DrillRole { site: site.clone(), port }, options.dry_run, run)?;
    }
    Ok(())
}

/// The site's units, and a restart when its env file changed since `start` (an index in the run).
pub fn start_units(host: &Host, site: &Site, options: &Options<'_>, run: &mut Run, start: usize) -> anyhow::Result<()> {
    let units_step = units::SiteUnits { site: site.clone() };
    let units_changed = !units_step.check(host)?.is_empty();
    run_step(host, &units_step, options.dry_run, run)?;
    let reasons: Vec<String> = run.outcomes[start..]
        .iter()
        .filter(|(name, outcome)| name.contains(".env") && !matches!(outcome, Outcome::Unchanged | Outcome::Blocked(_)))
        .map(|_| format!("{} changed", site.env_file()))
        .collect();
    // A unit change already restarted the service; a second restart would only add a gap.
    if !reasons.is_empty() && !units_changed {
        run_step(host, &Restart { unit: format!("{}.service", site.unit()), reasons }, options.dry_run, run)?;
    }
    Ok(())
}
