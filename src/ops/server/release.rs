//! Releases on a server: each build of the binary in its own folder,
//! `/opt/shoestring/releases/<version>-<commit>/shoestring` (root-owned, never changed once
//! there), and per site a `current` link to the one it runs. Switching is one `rename` of a new
//! link over the old, so the service starts either the old binary or the new, never a mix. The
//! identity comes from the binary itself (`shoestring version`), which also proves it runs here.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::host::Host;
use super::site::Site;

pub const RELEASES_DIR: &str = "/opt/shoestring/releases";
const BINARY_NAME: &str = "shoestring";

/// What `shoestring version` prints.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Identity {
    pub version: String,
    pub commit: String,
}

impl Identity {
    /// `0.1.0-1a2b3c4`: the folder name, as `build_info::release_name` makes it.
    pub fn release_name(&self) -> String {
        format!("{}-{}", self.version, self.commit.get(..7).unwrap_or(&self.commit))
    }
}

/// Runs `binary version`: the binary's identity, or why it does not run on this machine.
pub fn identify(host: &Host, binary: &Path) -> anyhow::Result<Identity> {
    let path = binary.to_str().context("the binary's path is not UTF-8")?;
    let out = host.run(&[path, "version"]).with_context(|| format!("{path} does not run on this machine"))?;
    let identity: Identity =
        serde_json::from_str(out.trim()).with_context(|| format!("{path} version printed {:?}", out.trim()))?;
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c));
    anyhow::ensure!(
        plain(&identity.version) && plain(&identity.commit),
        "{path} reports an unusable identity {identity:?}"
    );
    Ok(identity)
}

pub fn binary_in(name: &str) -> String {
    format!("{RELEASES_DIR}/{name}/{BINARY_NAME}")
}

fn sha256_of(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher.finalize().to_vec())
}

/// Installs `binary`, which `identify` named, as a release (once: the same bytes again are left
/// as they are) and returns its name. A different binary under a name already taken is refused:
/// a release never changes.
pub fn install(host: &Host, binary: &Path, identity: &Identity) -> anyhow::Result<String> {
    let name = identity.release_name();
    let target = host.path(&binary_in(&name));
    let digest = sha256_of(binary)?;
    if target.exists() {
        if sha256_of(&target)? == digest {
            return Ok(name);
        }
        bail!("release {name} is already installed with other bytes; build the new one from its own commit");
    }
    let releases = host.path(RELEASES_DIR);
    std::fs::create_dir_all(&releases)?;
    std::fs::set_permissions(host.path("/opt/shoestring"), std::fs::Permissions::from_mode(0o755))?;
    std::fs::set_permissions(&releases, std::fs::Permissions::from_mode(0o755))?;
    // Filled under a temporary name and renamed: a half-copied release never exists.
    let temp = releases.join(format!(".{name}.partial"));
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir(&temp)?;
    std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o755))?;
    let file = temp.join(BINARY_NAME);
    std::fs::copy(binary, &file).with_context(|| format!("copying {}", binary.display()))?;
    anyhow::ensure!(sha256_of(&file)? == digest, "{} changed while it was copied", binary.display());
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))?;
    std::fs::File::open(&file)?.sync_all()?;
    std::fs::rename(&temp, releases.join(&name))?;
    crate::ops::fsutil::sync_dir(&releases)?;
    Ok(name)
}

/// The release a site's `current` link points at, if it has one.
pub fn current(host: &Host, site: &Site) -> anyhow::Result<Option<String>> {
    match std::fs::read_link(host.path(&site.current_link())) {
        Ok(target) => Ok(target.file_name().and_then(|n| n.to_str()).map(str::to_owned)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).context("reading the current link"),
    }
}

/// Points the site's `current` link at release `name` in one rename.
pub fn switch(host: &Host, site: &Site, name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(host.path(&binary_in(name)).exists(), "no release {name} in {RELEASES_DIR}");
    let link = host.path(&site.current_link());
    let dir = link.parent().context("the link has no folder")?.to_path_buf();
    std::fs::create_dir_all(&dir)?;
    // Relative, so the same tree works under a test root.
    let target = PathBuf::from("../../releases").join(name);
    let temp = dir.join(".current.new");
    let _ = std::fs::remove_file(&temp);
    std::os::unix::fs::symlink(&target, &temp)?;
    std::fs::rename(&temp, &link).context("switching the current link")?;
    crate::ops::fsutil::sync_dir(&dir)?;
    Ok(())
}

/// The installed releases, newest first (by when each was installed).
pub fn installed(host: &Host) -> anyhow::Result<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(host.path(RELEASES_DIR)) else { return Ok(Vec::new()) };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_dir() {
            continue;
        }
        found.push((entry.metadata()?.modified()?, name));
    }
    found.sort_by(|a, b| b.cmp(a));
    Ok(found.into_iter().map(|(_, name)| name).collect())
}

/// Removes all but the `keep` newest releases, never one that a site runs (`in_use`).
pub fn prune(host: &Host, keep: usize, in_use: &[String]) -> anyhow::Result<Vec<String>> {
    let mut removed = Vec::new();
    for name in installed(host)?.into_iter().skip(keep) {
        if in_use.contains(&name) {
            continue;
        }
        std::fs::remove_dir_all(host.path(&format!("{RELEASES_DIR}/{name}")))?;
        removed.push(name);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::server::host::tempdir::TempDir;

    fn site() -> Site {
        Site::example("blog", 8101)
    }

    fn identify_and_install(host: &Host, binary: &Path) -> anyhow::Result<String> {
        install(host, binary, &identify(host, binary)?)
    }

    /// A stand-in binary that answers `version` as the real one does.
    fn fake_binary(dir: &Path, commit: &str) -> PathBuf {
        let path = dir.join(format!("bin-{}", commit.replace('/', "_")));
        let json = format!(r#"{{"version":"0.1.0","commit":"{commit}"}}"#);
        std::fs::write(&path, format!("#!/bin/sh\necho '{json}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn a_release_is_named_by_version_and_commit_and_installed_once() {
        let root = TempDir::new();
        let host = Host::at(root.path());
        let bin = fake_binary(root.path(), "1a2b3c4d5e6f");

        let name = identify_and_install(&host, &bin).unwrap();

        assert_eq!(name, "0.1.0-1a2b3c4");
        assert_eq!(identify_and_install(&host, &bin).unwrap(), name, "the same bytes install again as a no-op");
        std::fs::write(&bin, "#!/bin/sh\necho '{\"version\":\"0.1.0\",\"commit\":\"1a2b3c4d5e6f\"}' # other\n")
            .unwrap();
        let err = identify_and_install(&host, &bin).unwrap_err().to_string();
        assert!(err.contains("already installed with other bytes"), "{err}");
    }

    #[test]
    fn a_binary_that_does_not_run_or_lies_about_itself_is_refused() {
        let root = TempDir::new();
        let host = Host::at(root.path());
        let broken = root.path().join("broken");
        std::fs::write(&broken, "\x7fELF truncated").unwrap();
        std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(identify_and_install(&host, &broken).unwrap_err().to_string().contains("does not run on this machine"));
        let sneaky = fake_binary(root.path(), "../../etc");
        assert!(identify_and_install(&host, &sneaky).unwrap_err().to_string().contains("unusable identity"));
    }

    #[test]
    fn the_current_link_switches_between_releases_and_pruning_spares_the_running_one() {
        let root = TempDir::new();
        let host = Host::at(root.path());
        let mut names = Vec::new();
        for commit in ["aaaaaaa1", "bbbbbbb2", "ccccccc3"] {
            names.push(identify_and_install(&host, &fake_binary(root.path(), commit)).unwrap());
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(current(&host, &site()).unwrap(), None);

        switch(&host, &site(), &names[0]).unwrap();
        assert_eq!(current(&host, &site()).unwrap().as_deref(), Some("0.1.0-aaaaaaa"));
        switch(&host, &site(), &names[2]).unwrap();
        assert_eq!(current(&host, &site()).unwrap().as_deref(), Some("0.1.0-ccccccc"));
        assert!(host.path(&site().current_binary()).exists(), "the link resolves to the binary");
        assert!(switch(&host, &site(), "0.1.0-missing").is_err());

        let removed = prune(&host, 1, &[names[0].clone()]).unwrap();
        assert_eq!(removed, vec![names[1].clone()]);
        assert_eq!(installed(&host).unwrap(), vec![names[2].clone(), names[0].clone()]);
    }
}
