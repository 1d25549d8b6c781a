//! The common shape of most steps: some configuration files (each optionally validated by the
//! program that will read it before it replaces the old one), services that must be enabled and
//! running, commands that make a changed file take effect, and an optional runtime probe for state
//! a file alone does not show (a firewall table that was flushed by hand).

use super::host::{FileSpec, Host};
use super::step::Step;

pub type Probe = Box<dyn Fn(&Host) -> anyhow::Result<Vec<String>>>;

pub struct ConfigFile {
    pub spec: FileSpec,
    /// A command that must accept the staged file; `{}` stands for its path.
    pub validate: Option<Vec<String>>,
}

impl ConfigFile {
    pub fn plain(spec: FileSpec) -> Self {
        Self { spec, validate: None }
    }

    pub fn validated(spec: FileSpec, validate: &[&str]) -> Self {
        Self { spec, validate: Some(validate.iter().map(|s| (*s).to_owned()).collect()) }
    }
}

#[derive(Default)]
pub struct ConfigStep {
    pub name: String,
    pub files: Vec<ConfigFile>,
    /// Units that must be enabled and active.
    pub services: Vec<String>,
    /// Run after any file changed or the probe found a difference.
    pub reload: Vec<Vec<String>>,
    pub probe: Option<Probe>,
    /// Polled after the reload until it succeeds (a daemon restarting), for up to ten seconds.
    pub wait_for: Option<Vec<String>>,
}

impl ConfigStep {
    fn probe_diffs(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        match &self.probe {
            Some(probe) => probe(host),
            None => Ok(Vec::new()),
        }
    }
}

/// "enable X" / "start X" for a unit that is not enabled or not running.
pub fn service_diffs(host: &Host, unit: &str) -> Vec<String> {
    let mut diffs = Vec::new();
    let enabled = host.run(&["systemctl", "is-enabled", unit]).unwrap_or_default();
    if !matches!(enabled.trim(), "enabled" | "static" | "alias" | "enabled-runtime") {
        diffs.push(format!("enable {unit}"));
    }
    if host.run(&["systemctl", "is-active", unit]).unwrap_or_default().trim() != "active" {
        diffs.push(format!("start {unit}"));
    }
    diffs
}

pub fn install(host: &Host, file: &ConfigFile) -> anyhow::Result<()> {
    let staged = host.stage(&file.spec)?;
    if let Some(validate) = &file.validate {
        let staged_path = staged.to_string_lossy();
        let argv: Vec<String> = validate.iter().map(|a| a.replace("{}", &staged_path)).collect();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        if let Err(err) = host.run(&argv) {
            let _ = std::fs::remove_file(&staged);
            return Err(err.context(format!("{} was refused; the old file stays", file.spec.path)));
        }
    }
    std::fs::rename(&staged, host.path(&file.spec.path))?;
    Ok(())
}

impl Step for ConfigStep {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        let mut diffs = Vec::new();
        for file in &self.files {
            diffs.extend(host.file_diff(&file.spec)?);
        }
        for unit in &self.services {
            diffs.extend(service_diffs(host, unit));
        }
        diffs.extend(self.probe_diffs(host)?);
        Ok(diffs)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        let mut changed = !self.probe_diffs(host)?.is_empty();
        for file in &self.files {
            if !host.file_diff(&file.spec)?.is_empty() {
                install(host, file)?;
                changed = true;
            }
        }
        // Reload before enabling: a new unit file must be known before it is started.
        if changed {
            for command in &self.reload {
                let argv: Vec<&str> = command.iter().map(String::as_str).collect();
                host.run(&argv)?;
            }
        }
        for unit in &self.services {
            if !service_diffs(host, unit).is_empty() {
                host.run(&["systemctl", "enable", "--now", unit])?;
            }
        }
        if let Some(command) = &self.wait_for {
            wait_for(host, command)?;
        }
        Ok(())
    }
}

fn wait_for(host: &Host, command: &[String]) -> anyhow::Result<()> {
    let argv: Vec<&str> = command.iter().map(String::as_str).collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match host.run(&argv) {
            Ok(_) => return Ok(()),
            Err(err) if std::time::Instant::now() > deadline => return Err(err.context("not ready after 10 s")),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(250)),
        }
    }
}
