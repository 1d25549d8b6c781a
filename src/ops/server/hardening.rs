//! The host's own steps: firewall, fail2ban, unattended upgrades, journald limits and a confined
//! Caddy service. Each is a `ConfigStep` built from an embedded template, so what the tests render
//! is what ships; none of them touches SSH logins (that is `ssh.rs`, behind its guard).

use std::net::IpAddr;

use super::config_step::{ConfigFile, ConfigStep};
use super::host::{FileSpec, Host};
use super::site::Site;

const NFTABLES: &str = include_str!("templates/nftables.conf");
const FAIL2BAN: &str = include_str!("templates/fail2ban-sshd.local");
const AUTO_UPGRADES: &str = include_str!("templates/auto-upgrades.conf");
const JOURNALD: &str = include_str!("templates/journald.conf");
const CADDY_HARDENING: &str = include_str!("templates/caddy-hardening.conf");

pub const NFTABLES_PATH: &str = "/etc/nftables.conf";
pub const CADDY_DROP_IN: &str = "/etc/systemd/system/caddy.service.d/shoestring.conf";

fn join_ports(ports: &[u16]) -> String {
    ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

pub fn nftables_conf(ssh_ports: &[u16], sites: &[Site], pg_port: u16) -> String {
    NFTABLES.replace("{{ssh_ports}}", &join_ports(ssh_ports)).replace("{{site_rules}}", &site_rules(sites, pg_port))
}

/// What several machines need of each other, and nobody else gets: an app machine's instances
/// open to its front machine, and the front machine's PostgreSQL (`pg_port`) to its app machines.
fn site_rules(sites: &[Site], pg_port: u16) -> String {
    let from = |ip: &IpAddr| if ip.is_ipv4() { format!("ip saddr {ip}") } else { format!("ip6 saddr {ip}") };
    let mut rules = String::new();
    for site in sites {
        if let Some(joined) = &site.joined {
            let ports: Vec<u16> = site.instances().iter().map(|i| i.port).collect();
            let front = from(&joined.database.ip());
            rules.push_str(&format!(
                "\t\t{front} tcp dport {{ {} }} accept comment \"site {} from its front machine\"\n",
                join_ports(&ports),
                site.name
            ));
        }
        if site.local_postgres() {
            for machine in &site.app_machines {
                rules.push_str(&format!(
                    "\t\t{} tcp dport {pg_port} accept comment \"postgresql for site {} on an app machine\"\n",
                    from(machine),
                    site.name
                ));
            }
        }
    }
    rules
}

pub fn fail2ban_jail(ssh_ports: &[u16]) -> String {
    FAIL2BAN.replace("{{ssh_ports}}", &ssh_ports.iter().map(u16::to_string).collect::<Vec<_>>().join(","))
}

/// What the loaded input chain lacks: the drop policy, or an accept rule for each SSH port.
pub fn firewall_gaps(listing: &str, ssh_ports: &[u16]) -> Vec<String> {
    if listing.trim().is_empty() {
        return vec!["load the ruleset".to_owned()];
    }
    let mut gaps = Vec::new();
    if !listing.contains("policy drop;") {
        gaps.push("load the ruleset (inbound policy is not drop)".to_owned());
    }
    let ssh_rule = listing.lines().find(|line| line.contains("comment \"ssh\"")).unwrap_or("");
    for port in ssh_ports {
        let allowed = ssh_rule.split(|c: char| !c.is_ascii_digit()).any(|n| n == port.to_string());
        if !allowed {
            gaps.push(format!("load the ruleset (SSH port {port} not allowed)"));
        }
    }
    gaps
}

pub fn firewall(ssh_ports: Vec<u16>, sites: &[Site], pg_port: u16) -> ConfigStep {
    let conf = nftables_conf(&ssh_ports, sites, pg_port);
    let machines = if site_rules(sites, pg_port).is_empty() { "" } else { ", a site's machines to each other" };
    let spec = FileSpec { mode: 0o755, ..FileSpec::public(NFTABLES_PATH, conf) };
    ConfigStep {
        name: format!("firewall: inbound drop except SSH ({}), 80, 443, ICMP echo{machines}", join_ports(&ssh_ports)),
        files: vec![ConfigFile::validated(spec, &["nft", "-c", "-f", "{}"])],
        services: vec!["nftables.service".into()],
        reload: vec![vec!["nft".into(), "-f".into(), NFTABLES_PATH.into()]],
        probe: Some(Box::new(move |host: &Host| {
            let listing = host.run(&["nft", "list", "chain", "inet", "shoestring", "input"]).unwrap_or_default();
            Ok(firewall_gaps(&listing, &ssh_ports))
        })),
        wait_for: None,
    }
}

pub fn fail2ban(ssh_ports: &[u16]) -> ConfigStep {
    ConfigStep {
        name: "fail2ban: sshd jail".into(),
        files: vec![ConfigFile::plain(FileSpec::public(
            "/etc/fail2ban/jail.d/shoestring-sshd.local",
            fail2ban_jail(ssh_ports),
        ))],
        services: vec!["fail2ban.service".into()],
        reload: vec![vec!["systemctl".into(), "restart".into(), "fail2ban.service".into()]],
        probe: Some(Box::new(|host: &Host| {
            Ok(if host.succeeds(&["fail2ban-client", "status", "sshd"]) {
                vec![]
            } else {
                vec!["start the sshd jail".into()]
            })
        })),
        wait_for: Some(["fail2ban-client", "status", "sshd"].map(String::from).to_vec()),
    }
}

pub fn unattended_upgrades() -> ConfigStep {
    ConfigStep {
        name: "unattended security upgrades".into(),
        files: vec![ConfigFile::plain(FileSpec::public("/etc/apt/apt.conf.d/20auto-upgrades", AUTO_UPGRADES.into()))],
        services: vec!["apt-daily.timer".into(), "apt-daily-upgrade.timer".into()],
        reload: vec![],
        probe: Some(Box::new(|host: &Host| {
            let dump = host.run(&["apt-config", "dump"])?;
            Ok(if upgrades_enabled(&dump) {
                vec![]
            } else {
                vec!["another apt.conf.d file turns unattended upgrades off".into()]
            })
        })),
        wait_for: None,
    }
}

/// Whether `apt-config dump` shows both periodic settings at "1".
pub fn upgrades_enabled(dump: &str) -> bool {
    ["APT::Periodic::Update-Package-Lists \"1\";", "APT::Periodic::Unattended-Upgrade \"1\";"]
        .iter()
        .all(|line| dump.lines().any(|l| l.trim() == *line))
}

pub fn journald() -> ConfigStep {
    ConfigStep {
        name: "journald: persistent, at most 1G".into(),
        files: vec![ConfigFile::plain(FileSpec::public(
            "/etc/systemd/journald.conf.d/shoestring.conf",
            JOURNALD.into(),
        ))],
        reload: vec![["systemctl", "restart", "systemd-journald.service"].map(String::from).to_vec()],
        ..ConfigStep::default()
    }
}

pub fn caddy_service() -> ConfigStep {
    ConfigStep {
        name: "caddy: confined service".into(),
        files: vec![ConfigFile::plain(FileSpec::public(CADDY_DROP_IN, CADDY_HARDENING.into()))],
        services: vec!["caddy.service".into()],
        reload: vec![
            ["systemctl", "daemon-reload"].map(String::from).to_vec(),
            ["systemctl", "restart", "caddy.service"].map(String::from).to_vec(),
        ],
        ..ConfigStep::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::server::site::{DbKind, Joined};

    #[test]
    fn the_firewall_allows_every_ssh_port_before_its_drop_policy_applies() {
        let conf = nftables_conf(&[22, 2222], &[], 5432);

        assert!(conf.contains("tcp dport { 22, 2222 } accept comment \"ssh\""));
        assert!(conf.contains("policy drop;"));
        // One file, one transaction: only our own table is replaced, nobody else's flushed.
        assert!(!conf.contains("flush ruleset"));
        assert!(conf.contains("delete table inet shoestring"));
    }

    #[test]
    fn machines_of_one_site_are_open_to_each_other_and_to_nobody_else() {
        let front = Site {
            db: DbKind::Postgres,
            app_machines: vec!["10.0.0.3".parse().unwrap()],
            ..Site::example("shop", 8102)
        };
        let joined = Joined { address: "10.0.0.3".parse().unwrap(), database: "10.0.0.2:5432".parse().unwrap() };
        let member = Site { app_machines: vec![], instances: 2, joined: Some(joined), ..front.clone() };

        let on_front = nftables_conf(&[22], &[front, Site::example("blog", 8101)], 5433);
        let on_member = nftables_conf(&[22], &[member], 5432);

        assert!(on_front.contains("ip saddr 10.0.0.3 tcp dport 5433 accept"), "{on_front}");
        assert_eq!(on_front.matches("saddr").count(), 1, "{on_front}");
        assert!(on_member.contains("ip saddr 10.0.0.2 tcp dport { 8102, 14102 } accept"), "{on_member}");
        assert!(!on_member.contains("5432"), "{on_member}");
    }

    #[test]
    fn a_loaded_chain_without_the_ssh_port_or_the_drop_policy_is_reported() {
        let loaded = "table inet shoestring {\n chain input {\n  type filter hook input priority filter; policy drop;\n  \
            tcp dport 22 accept comment \"ssh\"\n }\n}\n";
        assert!(firewall_gaps(loaded, &[22]).is_empty());
        assert_eq!(firewall_gaps(loaded, &[2222]), vec!["load the ruleset (SSH port 2222 not allowed)"]);
        assert_eq!(firewall_gaps("", &[22]), vec!["load the ruleset"]);
        assert_eq!(firewall_gaps(&loaded.replace("22", "222"), &[22]).len(), 1);
    }

    #[test]
    fn the_jail_watches_the_real_ssh_ports_from_the_journal() {
        let jail = fail2ban_jail(&[22, 2222]);
        assert!(jail.contains("port = 22,2222"));
        assert!(jail.contains("backend = systemd"));
        assert!(jail.contains("maxretry = 3"));
    }

    #[test]
    fn upgrades_count_as_on_only_when_both_periodic_settings_are_one() {
        let on = "APT::Periodic::Update-Package-Lists \"1\";\nAPT::Periodic::Unattended-Upgrade \"1\";\n";
        assert!(upgrades_enabled(on));
        assert!(!upgrades_enabled(&on.replace("Upgrade \"1\"", "Upgrade \"0\"")));
    }
}
