//! The named sudo user the operator logs in as once root logins end: same keys as root, a home,
//! and a sudoers drop-in checked by visudo before it is installed. Without a password, sudo needs
//! NOPASSWD, as on the distributions' cloud images; `docs/deploy.md` says how to require one.

use super::config_step::{ConfigFile, install};
use super::host::{FileSpec, Host};
use super::step::Step;

pub const ROOT_KEYS: &str = "/root/.ssh/authorized_keys";

pub struct AdminUser {
    pub name: String,
}

impl AdminUser {
    fn home(&self) -> String {
        format!("/home/{}", self.name)
    }

    fn sudoers(&self) -> ConfigFile {
        let spec = FileSpec {
            mode: 0o440,
            ..FileSpec::public(
                &format!("/etc/sudoers.d/shoestring-{}", self.name),
                format!("# Written by `shoestring server setup`.\n{} ALL=(ALL:ALL) NOPASSWD: ALL\n", self.name),
            )
        };
        ConfigFile::validated(spec, &["visudo", "-c", "-q", "-f", "{}"])
    }

    fn keys(&self, host: &Host) -> anyhow::Result<FileSpec> {
        let keys = host.read(ROOT_KEYS)?.unwrap_or_default();
        anyhow::ensure!(
            keys.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')),
            "{ROOT_KEYS} holds no key to give {}; log in as root with a key first",
            self.name
        );
        Ok(FileSpec {
            path: format!("{}/.ssh/authorized_keys", self.home()),
            content: keys,
            mode: 0o600,
            owner: self.name.clone(),
            group: self.name.clone(),
        })
    }
}

impl Step for AdminUser {
    fn name(&self) -> String {
        format!("sudo user {} with root's SSH keys", self.name)
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        if !host.user_exists(&self.name)? {
            return Ok(vec![format!("create user {}", self.name)]);
        }
        let mut diffs = host.dir_diff(&format!("{}/.ssh", self.home()), 0o700, &self.name, &self.name)?;
        diffs.extend(host.file_diff(&self.keys(host)?)?);
        diffs.extend(host.file_diff(&self.sudoers().spec)?);
        Ok(diffs)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        if !host.user_exists(&self.name)? {
            host.run(&["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", &self.name])?;
        }
        host.ensure_dir(&format!("{}/.ssh", self.home()), 0o700, &self.name, &self.name)?;
        host.write(&self.keys(host)?)?;
        let sudoers = self.sudoers();
        if !host.file_diff(&sudoers.spec)?.is_empty() {
            install(host, &sudoers)?;
        }
        Ok(())
    }
}
