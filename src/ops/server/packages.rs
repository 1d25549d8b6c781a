//! The packages phase, the only one that needs the network: the distribution's Caddy, fail2ban,
//! nftables, unattended-upgrades (and PostgreSQL when a site uses it). The configure phase only
//! checks that they are there, so it runs offline.

use super::host::Host;
use super::step::Step;

pub fn wanted(postgres: bool) -> Vec<&'static str> {
    let mut names = vec![
        "openssh-server",
        "sudo",
        "nftables",
        "fail2ban",
        "python3-systemd",
        "unattended-upgrades",
        "caddy",
        "openssl",
    ];
    if postgres {
        names.push("postgresql");
    }
    names
}

/// The names in `wanted` that dpkg does not report as installed.
pub fn missing(host: &Host, wanted: &[&str]) -> Vec<String> {
    wanted
        .iter()
        .filter(|name| {
            let status = host.run(&["dpkg-query", "-W", "-f", "${db:Status-Status}", name]).unwrap_or_default();
            status.trim() != "installed"
        })
        .map(|name| (*name).to_owned())
        .collect()
}

pub struct Packages {
    pub names: Vec<&'static str>,
    /// In the configure phase a missing package is an error, not a download.
    pub offline: bool,
}

impl Step for Packages {
    fn name(&self) -> String {
        format!("packages: {}", self.names.join(" "))
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        let missing = missing(host, &self.names);
        if self.offline && !missing.is_empty() {
            anyhow::bail!(
                "not installed: {}; run `shoestring server setup --phase packages` while online",
                missing.join(" ")
            );
        }
        Ok(missing.into_iter().map(|name| format!("install {name}")).collect())
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        let missing = missing(host, &self.names);
        host.run(&["apt-get", "update", "-q"])?;
        let mut argv =
            vec!["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q", "--no-install-recommends"];
        argv.extend(missing.iter().map(String::as_str));
        host.run(&argv)?;
        Ok(())
    }
}
