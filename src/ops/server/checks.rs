//! The host checks that end every setup and make up `server check`: effective sshd settings,
//! firewall policy, fail2ban's jail, scheduled upgrades, secrets' permissions, each site's unit
//! exposure and answer, certificate expiry, and each site's own `check --deploy` — as findings
//! in the shared report format.

use std::os::unix::fs::MetadataExt;

use crate::kernel::clock::Clock;
use crate::ops::backup::rfc3339;
use crate::ops::report::{Finding, Report};

use super::hardening::{firewall_gaps, upgrades_enabled};
use super::host::Host;
use super::site::{Site, Staging, Tls};
use super::ssh::SshdSettings;
use super::units::exposure;

/// Exposure above this fails the report (systemd calls ≤ 2.0 "OK").
pub const EXPOSURE_TARGET: f32 = 2.0;
/// Days a staging copy may stay before `server check` warns about it.
const STAGING_DAYS: i64 = 7;
const CERT_DIR: &str = "/var/lib/caddy/.local/share/caddy/certificates";

pub fn host_report(host: &Host, sites: &[Site]) -> Report {
    let mut report = Report::new("host checks");
    report.extend(ssh(host));
    report.push(firewall(host));
    report.push(fail2ban(host));
    report.push(upgrades(host));
    for site in sites {
        report.extend(site_findings(host, site));
    }
    report
}

fn ssh(host: &Host) -> Vec<Finding> {
    let fix = "run `shoestring server setup --admin-user NAME` after NAME has logged in with a key";
    let Ok(settings) = SshdSettings::read(host) else {
        return vec![Finding::error("HOST-SSH", "`sshd -T` failed", "check the sshd configuration with `sshd -t`")];
    };
    let password = match (settings.get("passwordauthentication"), settings.get("kbdinteractiveauthentication")) {
        (Some("no"), Some("no")) => {
            Finding::ok("HOST-SSH-PASSWORD", "password and keyboard-interactive logins are off")
        }
        _ => Finding::error("HOST-SSH-PASSWORD", "sshd accepts passwords", fix),
    };
    let root = match settings.get("permitrootlogin") {
        Some("no") => Finding::ok("HOST-SSH-ROOT", "root cannot log in over SSH"),
        Some("prohibit-password" | "without-password") => {
            Finding::warning("HOST-SSH-ROOT", "root may log in with a key", fix)
        }
        other => Finding::error("HOST-SSH-ROOT", format!("root login is {}", other.unwrap_or("unset")), fix),
    };
    vec![password, root]
}

fn firewall(host: &Host) -> Finding {
    let ports = SshdSettings::read(host).map(|s| s.ports()).unwrap_or_else(|_| vec![22]);
    let listing = host.run(&["nft", "list", "chain", "inet", "shoestring", "input"]).unwrap_or_default();
    let gaps = firewall_gaps(&listing, &ports);
    let enabled = host.run(&["systemctl", "is-enabled", "nftables.service"]).unwrap_or_default().trim() == "enabled";
    if gaps.is_empty() && enabled {
        Finding::ok("HOST-FIREWALL", "inbound policy drop; SSH, 80, 443 and ICMP echo allowed; loaded at boot")
    } else {
        let why = if gaps.is_empty() { "nftables.service is not enabled".to_owned() } else { gaps.join("; ") };
        Finding::error("HOST-FIREWALL", why, "run `shoestring server setup`")
    }
}

fn fail2ban(host: &Host) -> Finding {
    match host.run(&["fail2ban-client", "status", "sshd"]) {
        Ok(status) => {
            let banned = status.lines().find_map(|l| l.split_once("Currently banned:")).map(|(_, n)| n.trim());
            Finding::ok("HOST-FAIL2BAN", format!("sshd jail active, {} address(es) banned", banned.unwrap_or("?")))
        }
        Err(_) => Finding::error("HOST-FAIL2BAN", "the sshd jail is not running", "run `shoestring server setup`"),
    }
}

fn upgrades(host: &Host) -> Finding {
    let dump = host.run(&["apt-config", "dump"]).unwrap_or_default();
    let timer = host.run(&["systemctl", "is-active", "apt-daily-upgrade.timer"]).unwrap_or_default();
    if upgrades_enabled(&dump) && timer.trim() == "active" {
        Finding::ok("HOST-UPGRADES", "unattended upgrades on; apt-daily-upgrade.timer active")
    } else {
        Finding::error(
            "HOST-UPGRADES",
            "security updates are not installed automatically",
            "run `shoestring server setup`",
        )
    }
}

/// `PREFIX-NAME`, the id of a finding about one site.
fn site_id(prefix: &str, site: &Site) -> String {
    format!("{prefix}-{}", site.name.to_string().to_uppercase())
}

fn site_findings(host: &Host, site: &Site) -> Vec<Finding> {
    let mut findings = vec![secrets(host, site)];
    let unit = format!("{}.service", site.unit());
    let id = site_id("HOST-UNIT", site);
    let analysis = host.run(&["systemd-analyze", "security", "--no-pager", &unit]);
    findings.push(match analysis.as_deref().map(exposure) {
        Ok(Some(score)) if score <= EXPOSURE_TARGET => {
            Finding::ok(&id, format!("{unit} exposure {score:.1} (target ≤ 2.0)"))
        }
        Ok(Some(score)) => Finding::error(
            &id,
            format!("{unit} exposure {score:.1} (target ≤ 2.0)"),
            "restore the unit: `shoestring server setup`",
        ),
        Ok(None) => {
            Finding::error(&id, format!("`systemd-analyze security {unit}` printed no score"), "check the unit")
        }
        Err(err) => Finding::error(&id, format!("{err:#}"), "check the unit exists"),
    });
    let id = site_id("HOST-SITE", site);
    let inactive: Vec<(String, String)> = site
        .instances()
        .iter()
        .map(|i| (i.service(), host.run(&["systemctl", "is-active", &i.service()]).unwrap_or_default()))
        .filter(|(_, state)| state.trim() != "active")
        .collect();
    findings.push(match inactive.first() {
        None => Finding::ok(&id, format!("{} active behind https://{}", instances_named(site), site.app_host())),
        Some((unit, state)) => {
            Finding::error(&id, format!("{unit} is {}", state.trim()), format!("see `journalctl -u {unit}`"))
        }
    });
    // An app machine's certificates are its front machine's, in that machine's Caddy.
    if site.joined.is_none() {
        findings.extend([site.app_host(), site.admin_host()].iter().map(|name| certificate(host, site, name)));
    }
    findings.extend(deploy_check(host, site));
    findings.extend(site.staging.as_ref().map(|staging| staging_age(site, staging, Clock::default().now())));
    findings
}

/// A staging copy holds production's people and their data: one kept past a week is flagged.
fn staging_age(site: &Site, staging: &Staging, now: i64) -> Finding {
    let id = site_id("HOST-STAGING", site);
    let days = (now - staging.created_at) / 86_400;
    let what = format!("staging copy of {} made {} ({days} days ago)", staging.of, rfc3339(staging.created_at));
    if days < STAGING_DAYS {
        Finding::ok(&id, what)
    } else {
        Finding::warning(
            &id,
            format!("{what}: it still holds a copy of production's data"),
            format!("remove it: `shoestring server site remove {}`", site.name),
        )
    }
}

/// "shoestring-blog.service", or "shoestring-blog.service and 1 more instance(s)".
fn instances_named(site: &Site) -> String {
    let first = site.instance(1).service();
    match site.instances().len() {
        1 => first,
        n => format!("{first} and {} more instance(s)", n - 1),
    }
}

/// The site's own `check --deploy`, run as the site's user with its env file, as its service
/// runs (a transient unit), and offline; its findings join the report as `NAME/ID`.
fn deploy_check(host: &Host, site: &Site) -> Vec<Finding> {
    let argv = site.command_as_site(&site.current_binary(), &["check", "--deploy", "--json", "--offline"]);
    let command: Vec<&str> = argv.iter().map(String::as_str).collect();
    let name = site.name.to_string().to_uppercase();
    let output = host.output(&command, None, &[]);
    match output.as_ref().map(|out| serde_json::from_slice::<Report>(&out.stdout)) {
        Ok(Ok(report)) => {
            report.findings.into_iter().map(|f| Finding { id: format!("{name}/{}", f.id), ..f }).collect()
        }
        _ => {
            let why = match &output {
                Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
                Err(err) => format!("{err:#}"),
            };
            vec![Finding::error(
                &site_id("HOST-CHECK", site),
                format!("`shoestring check --deploy` gave no report: {why}"),
                format!("run it as the site: `{}`", argv.join(" ")),
            )]
        }
    }
}

fn secrets(host: &Host, site: &Site) -> Finding {
    let id = format!("HOST-SECRETS-{}", site.name.to_string().to_uppercase());
    let env = site.env_file();
    let leaked = host.read("/etc/environment").ok().flatten().is_some_and(|t| t.contains("SECRET_KEY"));
    let ok = std::fs::metadata(host.path(&env)).ok().is_some_and(|m| {
        m.mode() & 0o777 == 0o640 && m.uid() == 0 && host.ids("root", &site.user()).is_ok_and(|(_, gid)| gid == m.gid())
    });
    match (ok, leaked) {
        (true, false) => {
            Finding::ok(&id, format!("{env} is 0640 root:{}; /etc/environment holds no secret", site.user()))
        }
        (_, true) => Finding::error(&id, "/etc/environment holds a SECRET_KEY", "move it to the site's env file"),
        (false, _) => {
            Finding::error(&id, format!("{env} is not 0640 root:{}", site.user()), "run `shoestring server setup`")
        }
    }
}

fn certificate(host: &Host, site: &Site, name: &str) -> Finding {
    let id = format!("HOST-TLS-{name}");
    let issuers = std::fs::read_dir(host.path(CERT_DIR)).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
    let Some(cert) = issuers.iter().map(|i| i.path().join(name).join(format!("{name}.crt"))).find(|p| p.exists())
    else {
        return Finding::warning(
            &id,
            "no certificate yet",
            "check that DNS points here and read `journalctl -u caddy`",
        );
    };
    let cert = cert.to_string_lossy().into_owned();
    let end = host.run(&["openssl", "x509", "-noout", "-enddate", "-in", &cert]).unwrap_or_default();
    let end = end.trim().trim_start_matches("notAfter=").to_owned();
    let valid_for = |seconds: &str| host.succeeds(&["openssl", "x509", "-noout", "-checkend", seconds, "-in", &cert]);
    if !valid_for("0") {
        Finding::error(&id, format!("certificate expired {end}"), "read `journalctl -u caddy` for renewal errors")
    } else if site.tls == Tls::Internal {
        // Caddy's own CA issues 12-hour certificates and renews them continuously.
        Finding::info(&id, format!("internal CA certificate, valid until {end}"))
    } else if !valid_for(&(14 * 86_400).to_string()) {
        Finding::warning(&id, format!("certificate expires {end}"), "read `journalctl -u caddy` for renewal errors")
    } else {
        Finding::ok(&id, format!("certificate valid until {end}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::server::site::StagingLabel;

    #[test]
    fn a_staging_copy_kept_for_a_week_is_flagged_with_how_to_remove_it() {
        let label: StagingLabel = "brave-otter".parse().unwrap();
        let staging = Staging { of: "blog".parse().unwrap(), label: label.clone(), created_at: 1_000_000 };
        let site = Site { name: label.site_name(), staging: Some(staging.clone()), ..Site::example("x", 8102) };

        let fresh = staging_age(&site, &staging, 1_000_000 + 6 * 86_400);
        let old = staging_age(&site, &staging, 1_000_000 + 7 * 86_400);

        assert_eq!(fresh.severity, crate::ops::report::Severity::Ok, "{fresh:?}");
        assert_eq!(old.severity, crate::ops::report::Severity::Warning, "{old:?}");
        assert!(old.fix.contains("shoestring server site remove braveotter"), "{old:?}");
        assert!(old.message.contains("staging copy of blog") && old.message.contains("7 days"), "{old:?}");
    }
}
