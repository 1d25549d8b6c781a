//! Driving a server from a laptop: copy this binary there (only when its checksum differs), let the
//! sudo user prove a login over a second connection, then run the same subcommand there and show
//! its output. Uses the system's `ssh` and `scp`, so the operator's keys, agent and known_hosts
//! apply as they do for any SSH session. Its own progress lines go to stderr, so stdout carries
//! only what the server printed (a JSON report stays parseable).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use super::units::BINARY;

pub struct Remote {
    /// `user@host` as given to --host.
    pub target: String,
    /// Extra `-o` options for ssh and scp.
    pub options: Vec<String>,
}

/// Quotes one argument for the remote shell that runs an ssh command line.
pub fn shell_quote(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c)) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

fn sha256_hex(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

impl Remote {
    fn user(&self) -> &str {
        self.target.split_once('@').map_or("root", |(user, _)| user)
    }

    /// The host part of the target, for the second connection as another user.
    pub fn hostname(&self) -> &str {
        self.target.split_once('@').map_or(self.target.as_str(), |(_, host)| host)
    }

    fn sudo(&self) -> &'static [&'static str] {
        if self.user() == "root" { &[] } else { &["sudo", "-n"] }
    }

    fn ssh(&self, target: &str) -> Command {
        let mut command = Command::new("ssh");
        command.args(["-o", "BatchMode=yes"]);
        for option in &self.options {
            command.args(["-o", option]);
        }
        command.arg(target).arg("--");
        command
    }

    /// `argv` as one remote shell line, through sudo when not root.
    fn line(&self, argv: &[String]) -> String {
        let line: Vec<String> = self.sudo().iter().map(|s| (*s).to_owned()).chain(argv.iter().cloned()).collect();
        line.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
    }

    /// Runs `argv` on the server; output goes to ours.
    pub fn run(&self, argv: &[String], input: Option<&str>) -> anyhow::Result<ExitCode> {
        let mut child =
            self.ssh(&self.target).arg(self.line(argv)).stdin(Stdio::piped()).spawn().context("starting ssh")?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.unwrap_or_default().as_bytes())?;
        }
        let status = child.wait()?;
        Ok(match status.code() {
            Some(0) => ExitCode::SUCCESS,
            Some(255) => bail!("ssh to {} failed", self.target),
            _ => ExitCode::FAILURE,
        })
    }

    /// Runs `argv` on the server and returns what it printed (its errors go to our stderr).
    pub fn output(&self, argv: &[String]) -> anyhow::Result<String> {
        let mut ssh = self.ssh(&self.target);
        let output = ssh.arg(self.line(argv)).stdin(Stdio::null()).stderr(Stdio::inherit()).output();
        let output = output.context("starting ssh")?;
        anyhow::ensure!(output.status.success(), "`{}` failed on {}", argv.join(" "), self.target);
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn capture(&self, line: &str) -> anyhow::Result<String> {
        let output = self.ssh(&self.target).arg(line).stdin(Stdio::null()).output().context("starting ssh")?;
        if !output.status.success() {
            bail!("`{line}` on {}: {}", self.target, String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Copies this executable to the server unless the same bytes are already there.
    pub fn copy_self(&self) -> anyhow::Result<()> {
        let local = std::env::current_exe()?;
        let digest = sha256_hex(&local)?;
        let arch = self.capture("uname -m")?;
        anyhow::ensure!(
            arch.trim() == std::env::consts::ARCH,
            "the server is {} and this binary {}",
            arch.trim(),
            std::env::consts::ARCH
        );
        let remote = self.capture(&format!("sha256sum {BINARY} 2>/dev/null || true"))?;
        if remote.split_whitespace().next() == Some(digest.as_str()) {
            eprintln!("  ok       binary {BINARY} on {}", self.target);
            return Ok(());
        }
        let upload = self.upload(&local)?;
        let sudo = self.sudo().join(" ");
        self.capture(&format!("{sudo} install -m 0755 -o root -g root {upload} {BINARY} && rm -f {upload}"))?;
        let size = std::fs::metadata(&local)?.len();
        eprintln!("  changed  binary {BINARY} on {}: copied ({} MB)", self.target, size / 1_000_000);
        Ok(())
    }

    /// Copies a file to a new `/tmp/shoestring-upload-…` on the server (named by its SHA-256 and
    /// a random suffix, so two uploads never write into one file); returns that path.
    pub fn upload(&self, local: &Path) -> anyhow::Result<String> {
        let upload = format!("/tmp/shoestring-upload-{}-{:08x}", &sha256_hex(local)?[..16], rand::random::<u32>());
        let mut scp = Command::new("scp");
        scp.args(["-q", "-o", "BatchMode=yes"]);
        for option in &self.options {
            scp.args(["-o", option]);
        }
        let status = scp.arg(local).arg(format!("{}:{upload}", self.target)).status().context("starting scp")?;
        anyhow::ensure!(status.success(), "scp to {} failed", self.target);
        Ok(upload)
    }

    /// The second connection: `user` logs in with the operator's key and runs `sudo -n true`.
    pub fn login_check(&self, user: &str) -> bool {
        let target = format!("{user}@{}", self.hostname());
        let ok =
            self.ssh(&target).args(["sudo", "-n", "true"]).stdin(Stdio::null()).status().is_ok_and(|s| s.success());
        if ok {
            eprintln!("  ok       second connection: {target} logged in with a key and ran sudo");
        } else {
            eprintln!("  failed   second connection: {target} could not log in and sudo; SSH stays as it is");
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_reach_the_remote_shell_as_they_were() {
        assert_eq!(shell_quote("--domain=example.com"), "--domain=example.com");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn the_second_connection_goes_to_the_same_host() {
        let remote = Remote { target: "root@203.0.113.5".into(), options: vec![] };
        assert_eq!(remote.hostname(), "203.0.113.5");
        assert!(remote.sudo().is_empty());
        let remote = Remote { target: "alice@203.0.113.5".into(), options: vec![] };
        assert_eq!(remote.sudo(), ["sudo", "-n"]);
    }
}
