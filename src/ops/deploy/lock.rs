//! One deploy (or rollback) per site at a time: an exclusive `flock` on the site's lock file,
//! held for the whole run and released by the kernel when the process ends, however it ends. A
//! second deploy is refused at once with who holds the lock, rather than queued behind it.

use std::io::{Read as _, Seek as _, Write as _};

use anyhow::Context;
use rustix::fs::{FlockOperation, flock};

use crate::ops::server::host::Host;
use crate::ops::server::site::Site;

pub struct DeployLock {
    _file: std::fs::File,
}

pub fn acquire(host: &Host, site: &Site, what: &str) -> anyhow::Result<DeployLock> {
    let path = host.path(&format!("{}/deploy.lock", site.deploy_dir()));
    std::fs::create_dir_all(path.parent().context("the lock has no folder")?)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    if let Err(err) = flock(&file, FlockOperation::NonBlockingLockExclusive) {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        anyhow::ensure!(err == rustix::io::Errno::WOULDBLOCK, "locking {}: {err}", path.display());
        anyhow::bail!(
            "another deploy of site {} is running ({}); nothing was changed, try again when it ends",
            site.name,
            holder.trim()
        );
    }
    file.set_len(0)?;
    file.rewind()?;
    let now = crate::ops::backup::rfc3339(crate::kernel::clock::Clock::default().now());
    writeln!(file, "{what} by process {} since {now}", std::process::id())?;
    Ok(DeployLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::server::host::tempdir::TempDir;

    #[test]
    fn a_second_deploy_of_the_same_site_is_refused_while_the_first_holds_the_lock() {
        let root = TempDir::new();
        let host = Host::at(root.path());
        let site = Site::example("blog", 8101);

        let first = acquire(&host, &site, "deploy of 0.1.0-aaaaaaa").unwrap();
        let err = acquire(&host, &site, "deploy of 0.1.0-bbbbbbb").err().unwrap().to_string();

        assert!(err.contains("another deploy of site blog is running"), "{err}");
        assert!(err.contains("deploy of 0.1.0-aaaaaaa by process"), "{err}");
        drop(first);
        assert!(acquire(&host, &site, "deploy").is_ok(), "the lock is free once the first ends");
    }
}
