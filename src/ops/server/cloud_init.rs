//! `server cloud-init`: user-data that does the host part of `setup` at a server's first boot,
//! for providers that take it at creation. It embeds the very files `setup` writes (same
//! templates), and the provider installs the keys, so the sudo user can log in from the start;
//! sites are added afterwards with `setup --host USER@IP --domain …`.

use std::fmt::Write as _;

use anyhow::Context;

use super::cli::CloudInitArgs;
use super::{hardening, packages, ssh};

const FILES: [(&str, &str); 4] = [
    ("/etc/apt/apt.conf.d/20auto-upgrades", include_str!("templates/auto-upgrades.conf")),
    ("/etc/systemd/journald.conf.d/shoestring.conf", include_str!("templates/journald.conf")),
    (hardening::CADDY_DROP_IN, include_str!("templates/caddy-hardening.conf")),
    ("/etc/fail2ban/jail.d/shoestring-sshd.local", ""),
];

fn literal(out: &mut String, path: &str, content: &str, permissions: &str) {
    let _ = writeln!(out, "  - path: {path}\n    permissions: '{permissions}'\n    content: |");
    for line in content.lines() {
        let _ = writeln!(out, "      {line}");
    }
}

pub fn render(args: &CloudInitArgs) -> anyhow::Result<String> {
    let keys = std::fs::read_to_string(&args.admin_key_file)
        .with_context(|| format!("reading {}", args.admin_key_file.display()))?;
    let keys: Vec<&str> = keys.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    anyhow::ensure!(!keys.is_empty(), "{} holds no public key", args.admin_key_file.display());
    let mut out = String::from(
        "#cloud-config\n# From `shoestring server cloud-init`: the host part of `shoestring server setup`.\n",
    );
    out.push_str("package_update: true\npackage_upgrade: true\npackages:\n");
    for name in packages::wanted(false) {
        let _ = writeln!(out, "  - {name}");
    }
    let _ = writeln!(
        out,
        "users:\n  - name: {}\n    shell: /bin/bash\n    sudo: \"ALL=(ALL:ALL) NOPASSWD: ALL\"",
        args.admin_user
    );
    out.push_str("    ssh_authorized_keys:\n");
    for key in keys {
        let _ = writeln!(out, "      - \"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""));
    }
    out.push_str("disable_root: true\nssh_pwauth: false\nwrite_files:\n");
    literal(&mut out, hardening::NFTABLES_PATH, &hardening::nftables_conf(&[22], &[], 5432), "0755");
    literal(&mut out, ssh::DROP_IN, &ssh::drop_in(&args.admin_user).content, "0644");
    for (path, content) in FILES {
        let content = if content.is_empty() { hardening::fail2ban_jail(&[22]) } else { content.to_owned() };
        literal(&mut out, path, &content, "0644");
    }
    out.push_str(
        "runcmd:\n  - [systemctl, enable, --now, nftables.service]\n  - [nft, -f, /etc/nftables.conf]\n  \
         - [systemctl, restart, systemd-journald.service]\n  - [systemctl, daemon-reload]\n  \
         - [systemctl, restart, fail2ban.service, caddy.service]\n  - [systemctl, reload, ssh.service]\n",
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::server::host::tempdir::TempDir;

    #[test]
    fn user_data_holds_the_same_files_setup_writes() {
        let dir = TempDir::new();
        let key_file = dir.path().join("id.pub");
        std::fs::write(&key_file, "ssh-ed25519 AAAAC3Nza alice@laptop\n").unwrap();
        let args = CloudInitArgs { admin_user: "alice".into(), admin_key_file: key_file };

        let yaml = render(&args).unwrap();

        assert!(yaml.starts_with("#cloud-config\n"));
        assert!(yaml.contains("      - \"ssh-ed25519 AAAAC3Nza alice@laptop\"\n"));
        assert!(yaml.contains("ssh_pwauth: false\n") && yaml.contains("disable_root: true\n"));
        for line in hardening::nftables_conf(&[22], &[], 5432).lines().chain(ssh::drop_in("alice").content.lines()) {
            assert!(yaml.contains(&format!("      {line}\n")), "missing {line:?}");
        }
        assert!(yaml.contains("  - fail2ban\n"));
    }

    #[test]
    fn a_key_file_without_keys_is_refused() {
        let dir = TempDir::new();
        let key_file = dir.path().join("empty.pub");
        std::fs::write(&key_file, "# nothing\n").unwrap();
        assert!(render(&CloudInitArgs { admin_user: "alice".into(), admin_key_file: key_file }).is_err());
    }
}
