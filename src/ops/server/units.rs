//! A site's systemd units: a `.socket` on its loopback port (restarts drop no connection) and a
//! confined `.service` running `shoestring serve` as the site's user. Both are checked with
//! `systemd-analyze verify` before they are installed; `systemd-analyze security` scores the
//! service in the host report.

use super::config_step::{ConfigFile, ConfigStep};
use super::host::{FileSpec, Host};
use super::site::{Instance, MAX_INSTANCES, Site};
use super::step::Step;

const SOCKET: &str = include_str!("templates/site.socket");
const SERVICE: &str = include_str!("templates/site.service");
pub const UNIT_DIR: &str = "/etc/systemd/system";
pub const BINARY: &str = "/usr/local/bin/shoestring";

fn fill(template: &str, site: &Site, instance: &Instance) -> String {
    // On an app machine the database is the front machine's.
    let after_db = if site.local_postgres() { " postgresql.service" } else { "" };
    // The first instance's metrics address is METRICS_BIND in the env file; an argument wins
    // over it for the others (systemd's EnvironmentFile= would win over Environment=).
    let serve_args = match instance.number {
        1 => String::new(),
        _ => format!(" --metrics-bind 127.0.0.1:{}", instance.metrics_port),
    };
    let drain_env = if site.shares_traffic() {
        format!("\nEnvironment=DRAIN_FILE={}", instance.drain_file())
    } else {
        String::new()
    };
    let instance_label = match site.instances {
        1 => String::new(),
        _ => format!(", instance {} of {}", instance.number, site.instances),
    };
    template
        .replace("{{name}}", &site.name.to_string())
        .replace("{{instance}}", &instance_label)
        .replace("{{unit}}", &instance.unit)
        .replace("{{user}}", &site.user())
        .replace("{{listen}}", &site.listen_ip().to_string())
        .replace("{{port}}", &instance.port.to_string())
        .replace("{{env_file}}", &site.env_file())
        .replace("{{drain_env}}", &drain_env)
        .replace("{{data_dir}}", &site.data_dir())
        .replace("{{current}}", &site.current_link())
        .replace("{{serve_args}}", &serve_args)
        .replace("{{app_host}}", &site.app_host())
        .replace("{{after_db}}", after_db)
}

pub fn socket(site: &Site, instance: &Instance) -> FileSpec {
    FileSpec::public(&format!("{UNIT_DIR}/{}", instance.socket()), fill(SOCKET, site, instance))
}

pub fn service(site: &Site, instance: &Instance) -> FileSpec {
    FileSpec::public(&format!("{UNIT_DIR}/{}", instance.service()), fill(SERVICE, site, instance))
}

/// Stops, disables and deletes an instance's units (a removed site, or a smaller count).
pub fn remove_instance(host: &Host, instance: &Instance) -> anyhow::Result<()> {
    let _ = host.run(&["systemctl", "disable", "--now", &instance.socket(), &instance.service()]);
    for name in [instance.socket(), instance.service()] {
        host.remove(&format!("{UNIT_DIR}/{name}"))?;
    }
    host.run(&["systemctl", "daemon-reload"])?;
    Ok(())
}

/// Instances above the site's count whose units are still installed.
fn surplus(host: &Host, site: &Site) -> Vec<Instance> {
    (site.instances().len() as u8 + 1..=MAX_INSTANCES)
        .map(|k| site.instance(k))
        .filter(|i| host.path(&format!("{UNIT_DIR}/{}", i.service())).exists())
        .collect()
}

/// The overall exposure `systemd-analyze security UNIT` prints on its last line.
pub fn exposure(output: &str) -> Option<f32> {
    let line = output.lines().rev().find(|l| l.contains("Overall exposure level for "))?;
    // Not the last colon: in the C locale the line ends in ":-)" instead of an emoji.
    let (_, after) = line.split_once("Overall exposure level for ")?.1.split_once(": ")?;
    after.split_whitespace().next()?.parse().ok()
}

/// Socket and service files of every instance, verified, then enabled and started; a changed
/// file restarts them. Units of instances beyond the count are removed.
pub struct SiteUnits {
    pub site: Site,
}

impl SiteUnits {
    fn config(&self) -> ConfigStep {
        let instances = self.site.instances();
        let files = instances
            .iter()
            .flat_map(|i| [ConfigFile::plain(socket(&self.site, i)), ConfigFile::plain(service(&self.site, i))])
            .collect();
        let services: Vec<String> = instances.iter().flat_map(|i| [i.socket(), i.service()]).collect();
        let mut restart = vec!["systemctl".to_owned(), "restart".to_owned()];
        restart.extend(services.iter().cloned());
        ConfigStep {
            name: format!("site {}: socket and service units", self.site.name),
            files,
            services,
            reload: vec![["systemctl", "daemon-reload"].map(String::from).to_vec(), restart],
            ..ConfigStep::default()
        }
    }

    /// `systemd-analyze verify` knows a unit by its file name, so the new files are verified
    /// under their real names in a private folder before they replace the installed ones.
    fn verify_new_files(&self, host: &Host) -> anyhow::Result<()> {
        let dir = host.path(&format!("/run/shoestring-verify/{}", self.site.unit()));
        std::fs::create_dir_all(&dir)?;
        let mut argv = vec!["systemd-analyze".to_owned(), "verify".to_owned(), "--man=no".to_owned()];
        for spec in self.site.instances().iter().flat_map(|i| [socket(&self.site, i), service(&self.site, i)]) {
            let name = spec.path.rsplit('/').next().unwrap_or_default().to_owned();
            std::fs::write(dir.join(&name), &spec.content)?;
            argv.push(dir.join(&name).to_string_lossy().into_owned());
        }
        let result = host.run(&argv.iter().map(String::as_str).collect::<Vec<_>>());
        let _ = std::fs::remove_dir_all(&dir);
        result.map(|_| ()).map_err(|err| err.context("the new units were refused; the old ones stay"))
    }
}

impl Step for SiteUnits {
    fn name(&self) -> String {
        self.config().name
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        let mut diffs = self.config().check(host)?;
        diffs.extend(surplus(host, &self.site).iter().map(|i| format!("remove {} and {}", i.socket(), i.service())));
        Ok(diffs)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        for instance in surplus(host, &self.site) {
            remove_instance(host, &instance)?;
        }
        self.verify_new_files(host)?;
        self.config().apply(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::server::site::DbKind;

    fn site() -> Site {
        Site { db: DbKind::Postgres, ..Site::example("blog", 8102) }
    }

    fn has(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[test]
    fn the_service_is_confined_to_its_data_folder_without_capabilities() {
        let text = service(&site(), &site().instance(1)).content;
        for line in [
            "Type=notify",
            "User=shoestring-blog",
            "EnvironmentFile=/etc/shoestring/blog.env",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/shoestring/blog",
            "PrivateTmp=yes",
            "ProtectHome=yes",
            "CapabilityBoundingSet=",
            "SystemCallFilter=@system-service",
            "MemoryMax=512M",
            "Restart=on-failure",
            "Requires=shoestring-blog.socket",
            "ExecStart=/opt/shoestring/sites/blog/current/shoestring serve",
            "LogRateLimitBurst=300000",
        ] {
            assert!(has(&text, line), "{line} missing in:\n{text}");
        }
        assert!(text.contains("postgresql.service"));
        assert!(!text.contains("DRAIN_FILE"), "one instance is never drained");
        assert!(!text.contains("{{"), "unfilled placeholder in:\n{text}");
    }

    #[test]
    fn the_socket_listens_on_the_sites_loopback_port_only() {
        let text = socket(&site(), &site().instance(1)).content;
        assert!(has(&text, "ListenStream=127.0.0.1:8102"), "{text}");
        assert_eq!(text.matches("ListenStream").count(), 1);
    }

    #[test]
    fn a_second_instance_has_its_own_socket_units_and_metrics_address() {
        let site = Site { instances: 2, ..site() };
        let second = site.instance(2);
        let socket_text = socket(&site, &second).content;
        let service_text = service(&site, &second).content;
        assert!(socket(&site, &second).path.ends_with("/shoestring-blog-2.socket"));
        assert!(has(&socket_text, "ListenStream=127.0.0.1:14102"), "{socket_text}");
        assert!(has(&service_text, "Requires=shoestring-blog-2.socket"), "{service_text}");
        assert!(
            has(
                &service_text,
                "ExecStart=/opt/shoestring/sites/blog/current/shoestring serve --metrics-bind 127.0.0.1:15102"
            ),
            "{service_text}"
        );
        assert!(service_text.contains("instance 2 of 2"));
        assert!(has(&service_text, "Environment=DRAIN_FILE=/run/shoestring/shoestring-blog-2.drain"), "{service_text}");
        // Both run the same release as the same user with the same secrets.
        assert!(
            has(&service_text, "User=shoestring-blog")
                && has(&service_text, "EnvironmentFile=/etc/shoestring/blog.env")
        );
    }

    #[test]
    fn the_exposure_score_is_read_from_the_last_line() {
        let out = "  ✓ PrivateTmp=  Service has no access to other software's temporary files\n\n\
            → Overall exposure level for shoestring-blog.service: 1.6 OK 🙂\n";
        assert_eq!(exposure(out), Some(1.6));
        assert_eq!(exposure("-> Overall exposure level for x.service: 1.2 OK :-)\n"), Some(1.2));
        assert_eq!(exposure("nothing"), None);
    }
}
