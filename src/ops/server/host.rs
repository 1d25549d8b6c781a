//! The machine being set up: its files, under a root that is `/` on a server and a temporary
//! folder in unit tests, and the commands run on it. Every write is atomic (a temporary file in
//! the same folder, then a rename) and sets mode and owner before the file appears, so a secret
//! is never readable by others even for a moment. Owners are looked up in the root's own files.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, bail};

#[derive(Clone, Debug)]
pub struct Host {
    root: PathBuf,
}

/// A file as it should be: content, permission bits and owner (by name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    pub path: String,
    pub content: String,
    pub mode: u32,
    pub owner: String,
    pub group: String,
}

impl FileSpec {
    /// A root-owned file readable by everyone (configuration without secrets).
    pub fn public(path: &str, content: String) -> Self {
        Self { path: path.to_owned(), content, mode: 0o644, owner: "root".into(), group: "root".into() }
    }
}

impl Host {
    pub fn system() -> Self {
        Self { root: PathBuf::from("/") }
    }

    /// A host whose files live under `root` (tests); commands still run on this machine.
    #[cfg(test)]
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// The file's text, or `None` when it does not exist.
    pub fn read(&self, path: &str) -> anyhow::Result<Option<String>> {
        match fs::read_to_string(self.path(path)) {
            Ok(text) => Ok(Some(text)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("reading {path}")),
        }
    }

    /// How the file differs from `spec`, one phrase per difference; empty when it matches.
    pub fn file_diff(&self, spec: &FileSpec) -> anyhow::Result<Vec<String>> {
        let full = self.path(&spec.path);
        let meta = match fs::metadata(&full) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(vec![format!("create {}", spec.path)]),
            Err(err) => return Err(err).with_context(|| format!("reading {}", spec.path)),
        };
        let mut diffs = Vec::new();
        if fs::read(&full).with_context(|| format!("reading {}", spec.path))? != spec.content.as_bytes() {
            diffs.push(format!("rewrite {}", spec.path));
        }
        if meta.mode() & 0o7777 != spec.mode {
            diffs.push(format!("chmod {:o} {}", spec.mode, spec.path));
        }
        let (uid, gid) = self.ids(&spec.owner, &spec.group)?;
        if meta.uid() != uid || meta.gid() != gid {
            diffs.push(format!("chown {}:{} {}", spec.owner, spec.group, spec.path));
        }
        Ok(diffs)
    }

    /// Writes `spec` atomically; parent folders are created root-owned 0755 when missing.
    pub fn write(&self, spec: &FileSpec) -> anyhow::Result<()> {
        let full = self.path(&spec.path);
        let temp = self.stage(spec)?;
        fs::rename(&temp, &full).with_context(|| format!("installing {}", spec.path))
    }

    /// Writes `spec`'s content to a temporary file beside its destination (with its mode and
    /// owner) and returns that file's path, so a validator can read it before it is installed.
    pub fn stage(&self, spec: &FileSpec) -> anyhow::Result<PathBuf> {
        let full = self.path(&spec.path);
        let dir = full.parent().with_context(|| format!("{} has no folder", spec.path))?;
        fs::create_dir_all(dir).with_context(|| format!("creating the folder of {}", spec.path))?;
        let name = full.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let temp = dir.join(format!(".{name}.shoestring-new"));
        let _ = fs::remove_file(&temp);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .with_context(|| format!("creating {}", temp.display()))?;
        let (uid, gid) = self.ids(&spec.owner, &spec.group)?;
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).with_context(|| format!("chown {}", spec.path))?;
        file.set_permissions(fs::Permissions::from_mode(spec.mode))?;
        file.write_all(spec.content.as_bytes())?;
        file.sync_all()?;
        Ok(temp)
    }

    /// Creates or corrects a folder's mode and owner; returns what it changed.
    pub fn ensure_dir(&self, path: &str, mode: u32, owner: &str, group: &str) -> anyhow::Result<Vec<String>> {
        let diffs = self.dir_diff(path, mode, owner, group)?;
        if diffs.is_empty() {
            return Ok(diffs);
        }
        let full = self.path(path);
        fs::create_dir_all(&full).with_context(|| format!("creating {path}"))?;
        let (uid, gid) = self.ids(owner, group)?;
        std::os::unix::fs::chown(&full, Some(uid), Some(gid)).with_context(|| format!("chown {path}"))?;
        fs::set_permissions(&full, fs::Permissions::from_mode(mode)).with_context(|| format!("chmod {path}"))?;
        Ok(diffs)
    }

    pub fn dir_diff(&self, path: &str, mode: u32, owner: &str, group: &str) -> anyhow::Result<Vec<String>> {
        let Ok(meta) = fs::metadata(self.path(path)) else {
            return Ok(vec![format!("create {path}/")]);
        };
        let mut diffs = Vec::new();
        if meta.mode() & 0o7777 != mode {
            diffs.push(format!("chmod {mode:o} {path}/"));
        }
        let (uid, gid) = self.ids(owner, group)?;
        if meta.uid() != uid || meta.gid() != gid {
            diffs.push(format!("chown {owner}:{group} {path}/"));
        }
        Ok(diffs)
    }

    pub fn remove(&self, path: &str) -> anyhow::Result<bool> {
        match fs::remove_file(self.path(path)) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err).with_context(|| format!("removing {path}")),
        }
    }

    /// The numeric ids of a user and a group, from the root's `etc/passwd` and `etc/group`.
    pub fn ids(&self, owner: &str, group: &str) -> anyhow::Result<(u32, u32)> {
        let uid = self.lookup("etc/passwd", owner)?.with_context(|| format!("no user {owner}"))?;
        let gid = self.lookup("etc/group", group)?.with_context(|| format!("no group {group}"))?;
        Ok((uid, gid))
    }

    pub fn user_exists(&self, name: &str) -> anyhow::Result<bool> {
        Ok(self.lookup("etc/passwd", name)?.is_some())
    }

    /// A user's passwd entry fields (name, password, uid, gid, gecos, home, shell).
    pub fn passwd_entry(&self, name: &str) -> anyhow::Result<Option<Vec<String>>> {
        let text = self.read("etc/passwd")?.unwrap_or_default();
        Ok(text.lines().map(|l| l.split(':').map(str::to_owned).collect::<Vec<_>>()).find(|f| f[0] == name))
    }

    fn lookup(&self, file: &str, name: &str) -> anyhow::Result<Option<u32>> {
        let text = self.read(file)?.unwrap_or_default();
        Ok(text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(':');
                let entry = fields.next()?;
                (entry == name).then(|| fields.nth(1)?.parse().ok())?
            })
            .next())
    }

    /// Runs a command; its stdout, or an error naming the command and carrying its stderr.
    pub fn run(&self, argv: &[&str]) -> anyhow::Result<String> {
        self.run_with_input(argv, None)
    }

    /// Runs a command with `input` on its stdin (secrets go this way, never on a command line).
    pub fn run_with_input(&self, argv: &[&str], input: Option<&str>) -> anyhow::Result<String> {
        self.run_with_env(argv, input, &[])
    }

    /// Runs a command with extra environment variables (a password for psql stays off `ps`).
    pub fn run_with_env(&self, argv: &[&str], input: Option<&str>, env: &[(&str, &str)]) -> anyhow::Result<String> {
        let output = self.output(argv, input, env)?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            bail!("`{}` failed ({}): {}", argv.join(" "), output.status, stderr.trim());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs a command to its end, whatever its exit status (a report that exits 1 on errors).
    pub fn output(&self, argv: &[&str], input: Option<&str>, env: &[(&str, &str)]) -> anyhow::Result<Output> {
        let (program, args) = argv.split_first().context("empty command")?;
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(text.as_bytes()).with_context(|| format!("writing to {program}"))?;
        }
        child.wait_with_output().with_context(|| format!("running {program}"))
    }

    /// Whether a command exits 0 (its output is discarded).
    pub fn succeeds(&self, argv: &[&str]) -> bool {
        self.run(argv).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root whose passwd and group name the test's own user and group as "owner".
    fn temp_host() -> (super::tempdir::TempDir, Host) {
        let dir = super::tempdir::TempDir::new();
        let meta = fs::metadata(dir.path()).unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        fs::write(dir.path().join("etc/passwd"), format!("owner:x:{}:{}::/:/bin/sh\n", meta.uid(), meta.gid()))
            .unwrap();
        fs::write(dir.path().join("etc/group"), format!("owner:x:{}:\n", meta.gid())).unwrap();
        let host = Host::at(dir.path());
        (dir, host)
    }

    fn spec(content: &str, mode: u32) -> FileSpec {
        FileSpec {
            path: "/etc/app/a.env".into(),
            content: content.into(),
            mode,
            owner: "owner".into(),
            group: "owner".into(),
        }
    }

    #[test]
    fn a_missing_file_is_created_with_its_mode_and_then_matches() {
        let (_dir, host) = temp_host();
        assert_eq!(host.file_diff(&spec("A=1\n", 0o640)).unwrap(), vec!["create /etc/app/a.env"]);

        host.write(&spec("A=1\n", 0o640)).unwrap();

        assert!(host.file_diff(&spec("A=1\n", 0o640)).unwrap().is_empty());
        let meta = fs::metadata(host.path("/etc/app/a.env")).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o640);
    }

    #[test]
    fn content_and_mode_differences_are_named() {
        let (_dir, host) = temp_host();
        host.write(&spec("A=1\n", 0o644)).unwrap();

        let diffs = host.file_diff(&spec("A=2\n", 0o640)).unwrap();

        assert_eq!(diffs, vec!["rewrite /etc/app/a.env", "chmod 640 /etc/app/a.env"]);
    }

    #[test]
    fn an_unknown_owner_is_an_error_not_root() {
        let (_dir, host) = temp_host();
        let mut wanted = spec("A=1\n", 0o640);
        wanted.owner = "nobody-here".into();
        assert!(host.write(&wanted).is_err());
        assert!(!host.path("/etc/app/a.env").exists());
    }

    #[test]
    fn failed_commands_carry_their_stderr() {
        let host = Host::system();
        let err = host.run(&["sh", "-c", "echo nope >&2; exit 3"]).unwrap_err().to_string();
        assert!(err.contains("nope"), "{err}");
        assert_eq!(host.run_with_input(&["cat"], Some("in")).unwrap(), "in");
    }
}

#[cfg(test)]
pub(crate) mod tempdir {
    //! A folder under the system temp dir, removed on drop (no crate needed for ten lines).
    use std::path::{Path, PathBuf};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!("shoestring-ops-{}", rand::random::<u64>()));
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
