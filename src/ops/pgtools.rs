//! PostgreSQL's own tools, `pg_dump` and `pg_restore`: finding a copy new enough for the server
//! (a dump by an older client than the server is refused by the client itself, so check first
//! and name what to install), and running it with the connection passed the libpq way — the
//! password in the environment, never on a command line that `ps` shows.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;
use tokio::process::Command;

#[derive(Clone, Debug)]
pub struct PgTool {
    pub path: PathBuf,
    pub major: u32,
    /// e.g. `pg_dump (PostgreSQL) 15.20`.
    pub version: String,
}

/// The newest `tool` whose major version is at least `needed_major`: from `PG_BIN_DIR`, from
/// Debian's versioned folders, or from PATH.
pub async fn find(tool: &str, needed_major: u32, bin_dir: Option<&Path>) -> anyhow::Result<PgTool> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = bin_dir {
        candidates.push(dir.join(tool));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versioned: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin").join(tool)).collect();
        versioned.sort();
        candidates.extend(versioned.into_iter().rev());
    }
    candidates.push(PathBuf::from(tool));
    let mut found = Vec::new();
    for path in candidates {
        let Ok(output) = Command::new(&path).arg("--version").output().await else { continue };
        let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let Some(major) = major_of(&version) else { continue };
        if major >= needed_major {
            return Ok(PgTool { path, major, version });
        }
        found.push(format!("{version} at {}", path.display()));
    }
    let seen = if found.is_empty() { "none found".to_owned() } else { format!("found only {}", found.join(", ")) };
    anyhow::bail!(
        "{tool} for PostgreSQL {needed_major} or newer is needed ({seen}); install it (Debian: \
         apt-get install postgresql-client-{needed_major}) or point PG_BIN_DIR at its folder"
    )
}

/// `pg_dump (PostgreSQL) 15.20 (Debian …)` → 15.
fn major_of(version_line: &str) -> Option<u32> {
    let number = version_line.split_whitespace().find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))?;
    number.split('.').next()?.parse().ok()
}

/// The server's major version (`server_version_num` 150020 → 15).
pub async fn server_major(conn: &mut sqlx::AnyConnection) -> anyhow::Result<u32> {
    let num: String = sqlx::query_scalar("SELECT current_setting('server_version_num')").fetch_one(conn).await?;
    let num: u32 = num.trim().parse().context("unexpected server_version_num")?;
    Ok(num / 10_000)
}

/// A database URL split for libpq: the URL without its password, and the password.
#[derive(Clone)]
pub struct LibpqTarget {
    pub url: String,
    password: Option<String>,
}

impl std::fmt::Debug for LibpqTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibpqTarget").field("url", &self.url).finish_non_exhaustive()
    }
}

/// Query parameters libpq understands; sqlx-only ones would make it refuse the URL.
const LIBPQ_PARAMS: &[&str] =
    &["sslmode", "sslrootcert", "sslcert", "sslkey", "application_name", "connect_timeout", "options", "host", "port"];

impl LibpqTarget {
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let (scheme, rest) = url.split_once("://").context("not a postgres:// URL")?;
        let (base, query) = rest.split_once('?').map_or((rest, None), |(b, q)| (b, Some(q)));
        let (authority, path) = base.split_once('/').map_or((base, ""), |(a, p)| (a, p));
        let (userinfo, host) = authority.rsplit_once('@').map_or((None, authority), |(u, h)| (Some(u), h));
        let (user, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, pass)) => (Some(user), Some(percent_decode(pass))),
                None => (Some(info), None),
            },
            None => (None, None),
        };
        let mut out = format!("{scheme}://");
        if let Some(user) = user {
            out.push_str(user);
            out.push('@');
        }
        out.push_str(host);
        out.push('/');
        out.push_str(path);
        let kept: Vec<&str> = query
            .unwrap_or("")
            .split('&')
            .filter(|kv| LIBPQ_PARAMS.contains(&kv.split('=').next().unwrap_or("")))
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
        Ok(Self { url: out, password })
    }

    /// The same server, another database.
    pub fn with_database(&self, name: &str) -> Self {
        let (base, query) = self.url.split_once('?').map_or((self.url.as_str(), None), |(b, q)| (b, Some(q)));
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
        let mut url = format!("{}/{name}", &base[..path_start]);
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        Self { url, password: self.password.clone() }
    }

    /// A command for `tool` with the password (if any) in its environment.
    pub fn command(&self, tool: &PgTool) -> Command {
        let mut command = Command::new(&tool.path);
        command.env_remove("PGPASSWORD").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        command.kill_on_drop(true);
        if let Some(password) = &self.password {
            command.env("PGPASSWORD", password);
        }
        command
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok())
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a prepared command to its end at a lower CPU priority; a failure carries its stderr.
pub async fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let child = command.spawn().with_context(|| format!("could not start {what}"))?;
    #[cfg(target_os = "linux")]
    if let Some(pid) = child.id().and_then(|id| rustix::process::Pid::from_raw(id as i32)) {
        // Backups and drills share the machine with the site: let requests go first.
        let _ = rustix::process::setpriority_process(Some(pid), 10);
    }
    let output = child.wait_with_output().await?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String =
            stderr.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        anyhow::bail!("{what} failed ({}): {tail}", output.status);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_and_sqlx_options_are_dropped() {
        let target =
            LibpqTarget::parse("postgres://app:p%40ss@127.0.0.1:5432/app?sslmode=disable&statement-cache-capacity=0")
                .unwrap();
        assert_eq!(target.url, "postgres://app@127.0.0.1:5432/app?sslmode=disable");
        assert_eq!(target.password.as_deref(), Some("p@ss"));
        assert_eq!(target.with_database("drill").url, "postgres://app@127.0.0.1:5432/drill?sslmode=disable");
        assert!(!format!("{target:?}").contains("p@ss"));
    }

    #[test]
    fn versions_are_read_from_the_tools_banner() {
        assert_eq!(major_of("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"), Some(15));
        assert_eq!(major_of("pg_restore (PostgreSQL) 17.2"), Some(17));
        assert_eq!(major_of("garbage"), None);
    }
}
