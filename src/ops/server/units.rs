//! A site's systemd units: a `.socket` on its loopback port (restarts drop no connection) and a
//! confined `.service` running `shoestring serve` as the site's user. Both are checked with
//! `systemd-analyze verify` before they are installed; `systemd-analyze security` scores the
//! service in the host report.

use super::config_step::{ConfigFile, ConfigStep};
use super::host::{FileSpec, Host};
use super::site::{DbKind, Site};
use super::step::Step;

const SOCKET: &str = include_str!("templates/site.socket");
const SERVICE: &str = include_str!("templates/site.service");
pub const UNIT_DIR: &str = "/etc/systemd/system";
pub const BINARY: &str = "/usr/local/bin/shoestring";

fn fill(template: &str, site: &Site) -> String {
    let after_db = if site.db == DbKind::Postgres { " postgresql.service" } else { "" };
    template
        .replace("{{name}}", &site.name.to_string())
        .replace("{{unit}}", &site.unit())
        .replace("{{user}}", &site.user())
        .replace("{{port}}", &site.port.to_string())
        .replace("{{env_file}}", &site.env_file())
        .replace("{{data_dir}}", &site.data_dir())
        .replace("{{current}}", &site.current_link())
        .replace("{{app_host}}", &site.app_host())
        .replace("{{after_db}}", after_db)
}

pub fn socket(site: &Site) -> FileSpec {
    FileSpec::public(&format!("{UNIT_DIR}/{}.socket", site.unit()), fill(SOCKET, site))
}

pub fn service(site: &Site) -> FileSpec {
    FileSpec::public(&format!("{UNIT_DIR}/{}.service", site.unit()), fill(SERVICE, site))
}

/// The overall exposure `systemd-analyze security UNIT` prints on its last line.
pub fn exposure(output: &str) -> Option<f32> {
    let line = output.lines().rev().find(|l| l.contains("Overall exposure level for "))?;
    // Not the last colon: in the C locale the line ends in ":-)" instead of an emoji.
    let (_, after) = line.split_once("Overall exposure level for ")?.1.split_once(": ")?;
    after.split_whitespace().next()?.parse().ok()
}

/// Socket and service files, verified, then enabled and started; a changed file restarts both.
pub struct SiteUnits {
    pub site: Site,
}

impl SiteUnits {
    fn config(&self) -> ConfigStep {
        let unit = self.site.unit();
        ConfigStep {
            name: format!("site {}: socket and service units", self.site.name),
            files: vec![ConfigFile::plain(socket(&self.site)), ConfigFile::plain(service(&self.site))],
            services: vec![format!("{unit}.socket"), format!("{unit}.service")],
            reload: vec![
                ["systemctl", "daemon-reload"].map(String::from).to_vec(),
                vec!["systemctl".into(), "restart".into(), format!("{unit}.socket"), format!("{unit}.service")],
            ],
            ..ConfigStep::default()
        }
    }

    /// `systemd-analyze verify` knows a unit by its file name, so the new files are verified
    /// under their real names in a private folder before they replace the installed ones.
    fn verify_new_files(&self, host: &Host) -> anyhow::Result<()> {
        let dir = host.path(&format!("/run/shoestring-verify/{}", self.site.unit()));
        std::fs::create_dir_all(&dir)?;
        let mut argv = vec!["systemd-analyze".to_owned(), "verify".to_owned(), "--man=no".to_owned()];
        for spec in [socket(&self.site), service(&self.site)] {
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
        self.config().check(host)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        self.verify_new_files(host)?;
        self.config().apply(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site { db: DbKind::Postgres, ..Site::example("blog", 8102) }
    }

    fn has(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[test]
    fn the_service_is_confined_to_its_data_folder_without_capabilities() {
        let text = service(&site()).content;
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
        ] {
            assert!(has(&text, line), "{line} missing in:\n{text}");
        }
        assert!(text.contains("postgresql.service"));
        assert!(!text.contains("{{"), "unfilled placeholder in:\n{text}");
    }

    #[test]
    fn the_socket_listens_on_the_sites_loopback_port_only() {
        let text = socket(&site()).content;
        assert!(has(&text, "ListenStream=127.0.0.1:8102"), "{text}");
        assert_eq!(text.matches("ListenStream").count(), 1);
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
