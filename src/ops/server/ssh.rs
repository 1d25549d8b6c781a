//! SSH: key-only logins and no root login, written as an early drop-in (sshd keeps the first
//! value it reads) and proven with the effective settings of `sshd -T`. The change waits behind
//! a lock-out guard: the named sudo user must already have logged in with a key and used sudo,
//! as the journal shows, so the operator always keeps a way in.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;

use crate::ops::report::Finding;

use super::host::{FileSpec, Host};
use super::step::Step;

pub const DROP_IN: &str = "/etc/ssh/sshd_config.d/10-shoestring.conf";
const DROP_IN_TEMPLATE: &str = include_str!("templates/sshd.conf");

/// The settings the drop-in sets, as `sshd -T` prints them once in force.
pub const WANTED: [(&str, &str); 5] = [
    ("permitrootlogin", "no"),
    ("passwordauthentication", "no"),
    ("kbdinteractiveauthentication", "no"),
    ("pubkeyauthentication", "yes"),
    ("permitemptypasswords", "no"),
];

/// `sshd -T` output: lower-case keywords, each with every value it was given (ports repeat).
#[derive(Clone, Debug, Default)]
pub struct SshdSettings(BTreeMap<String, Vec<String>>);

impl SshdSettings {
    pub fn parse(text: &str) -> Self {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in text.lines() {
            let Some((key, value)) = line.trim().split_once(' ') else { continue };
            map.entry(key.to_ascii_lowercase()).or_default().push(value.trim().to_owned());
        }
        Self(map)
    }

    /// The effective settings of this machine's sshd.
    pub fn read(host: &Host) -> anyhow::Result<Self> {
        Ok(Self::parse(&host.run(&["sshd", "-T"])?))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|values| values.first()).map(String::as_str)
    }

    /// The ports sshd listens on (22 when none is printed).
    pub fn ports(&self) -> Vec<u16> {
        let ports: Vec<u16> = self.0.get("port").into_iter().flatten().filter_map(|p| p.parse().ok()).collect();
        if ports.is_empty() { vec![22] } else { ports }
    }

    /// The wanted settings not yet in force, as "key: have → want".
    pub fn missing(&self) -> Vec<String> {
        WANTED
            .iter()
            .filter(|(key, want)| self.get(key) != Some(want))
            .map(|(key, want)| format!("{key} {} → {want}", self.get(key).unwrap_or("unset")))
            .collect()
    }
}

pub fn drop_in(admin_user: &str) -> FileSpec {
    FileSpec::public(DROP_IN, DROP_IN_TEMPLATE.replace("{{admin_user}}", admin_user))
}

/// Whether the journal text of sshd shows a key login of `user`.
pub fn shows_key_login(sshd_journal: &str, user: &str) -> bool {
    let prefix = format!("Accepted publickey for {user} from ");
    sshd_journal.lines().any(|line| line.trim_start().starts_with(&prefix))
}

/// Whether the journal text of sudo shows `user` running a command as root.
pub fn shows_sudo(sudo_journal: &str, user: &str) -> bool {
    let prefix = format!("{user} : ");
    sudo_journal.lines().any(|line| {
        let line = line.trim_start();
        line.starts_with(&prefix) && line.contains("USER=root ; COMMAND=")
    })
}

pub struct SshLockdown {
    pub admin_user: String,
}

impl SshLockdown {
    /// The guard: a key login and a sudo by the admin user since their keys were last written.
    fn guard(&self, host: &Host) -> anyhow::Result<Option<Finding>> {
        let user = &self.admin_user;
        let blocked = |why: String| {
            Some(Finding::error(
                "HOST-SSH-GUARD",
                format!("root login and passwords left as they were: {why}"),
                format!("from your computer run `ssh {user}@THIS-HOST sudo -n true`, then run setup again"),
            ))
        };
        let Some(home) = host.passwd_entry(user)?.and_then(|f| f.get(5).cloned()) else {
            return Ok(blocked(format!("the sudo user {user} does not exist")));
        };
        let keys = format!("{home}/.ssh/authorized_keys");
        let Ok(meta) = std::fs::metadata(host.path(&keys)) else {
            return Ok(blocked(format!("{keys} is missing")));
        };
        let since = format!("@{}", meta.mtime());
        let journal = |ids: &[&str]| -> anyhow::Result<String> {
            let mut argv = vec!["journalctl", "--no-pager", "-q", "-o", "cat", "--since", since.as_str()];
            for id in ids {
                argv.extend(["-t", id]);
            }
            host.run(&argv)
        };
        if !shows_key_login(&journal(&["sshd", "sshd-session"])?, user) {
            return Ok(blocked(format!("{user} has not logged in with a key since the keys were installed")));
        }
        if !shows_sudo(&journal(&["sudo"])?, user) {
            return Ok(blocked(format!("{user} logged in but has not used sudo yet")));
        }
        Ok(None)
    }
}

impl Step for SshLockdown {
    fn name(&self) -> String {
        "ssh: key-only, no root login".into()
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        let mut diffs = host.file_diff(&drop_in(&self.admin_user))?;
        diffs.extend(SshdSettings::read(host)?.missing());
        Ok(diffs)
    }

    fn precondition(&self, host: &Host) -> anyhow::Result<Option<Finding>> {
        self.guard(host)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        let spec = drop_in(&self.admin_user);
        let previous = host.read(&spec.path)?;
        host.write(&spec)?;
        // sshd reads only *.conf from the folder, so the file is tested in place; a config that
        // sshd refuses is rolled back before anything reloads it.
        if let Err(err) = host.run(&["sshd", "-t"]) {
            match previous {
                Some(text) => host.write(&FileSpec { content: text, ..spec })?,
                None => {
                    host.remove(&spec.path)?;
                }
            }
            return Err(err.context("sshd refused the new settings; the old ones are back"));
        }
        host.run(&["systemctl", "reload", "ssh"])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_DEFAULT: &str = "port 22\naddressfamily any\nlistenaddress 0.0.0.0:22\npermitrootlogin without-password\n\
        pubkeyauthentication yes\npasswordauthentication yes\nkbdinteractiveauthentication no\npermitemptypasswords no\n";

    #[test]
    fn debian_defaults_still_allow_passwords_and_root_keys() {
        let settings = SshdSettings::parse(DEBIAN_DEFAULT);

        assert_eq!(settings.ports(), vec![22]);
        assert_eq!(
            settings.missing(),
            vec!["permitrootlogin without-password → no", "passwordauthentication yes → no"]
        );
    }

    #[test]
    fn every_port_is_found_and_a_locked_down_config_misses_nothing() {
        let locked = "port 22\nport 2222\npermitrootlogin no\npasswordauthentication no\n\
            kbdinteractiveauthentication no\npubkeyauthentication yes\npermitemptypasswords no\n";
        let settings = SshdSettings::parse(locked);

        assert_eq!(settings.ports(), vec![22, 2222]);
        assert!(settings.missing().is_empty());
    }

    #[test]
    fn the_guard_needs_a_key_login_of_that_very_user() {
        let journal = "Accepted publickey for root from 10.0.0.1 port 5555 ssh2: ED25519 SHA256:x\n\
            Failed publickey for alice from 10.0.0.1 port 5556 ssh2\n\
            Accepted password for alice from 10.0.0.1 port 5557 ssh2\n";
        assert!(!shows_key_login(journal, "alice"));
        let ok = "Accepted publickey for alice from 10.0.0.1 port 5558 ssh2: ED25519 SHA256:x\n";
        assert!(shows_key_login(ok, "alice"));
        assert!(!shows_key_login(ok, "ali"));
    }

    #[test]
    fn the_guard_needs_a_sudo_to_root_by_that_user() {
        let line = "   alice : PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/true";
        assert!(shows_sudo(line, "alice"));
        assert!(!shows_sudo(line, "bob"));
        assert!(!shows_sudo("alice : command not allowed ; PWD=/ ; USER=root", "alice"));
    }

    #[test]
    fn the_drop_in_names_the_admin_and_turns_everything_off() {
        let text = drop_in("alice").content;
        for line in ["PermitRootLogin no", "PasswordAuthentication no", "KbdInteractiveAuthentication no"] {
            assert!(text.lines().any(|l| l == line), "{line} missing in:\n{text}");
        }
        assert!(text.contains("alice"));
    }
}
