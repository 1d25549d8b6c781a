//! The binary the sites run: this very executable, installed at /usr/local/bin/shoestring (0755
//! root). Driven over SSH it is already there, copied by `remote.rs`, and this step finds nothing
//! to do; run from elsewhere on the server it installs itself.

use std::os::unix::fs::PermissionsExt;

use anyhow::Context;

use super::host::Host;
use super::step::Step;
use super::units::BINARY;

pub struct Binary;

fn same_file(a: &std::path::Path, b: &std::path::Path) -> anyhow::Result<bool> {
    let (Ok(meta_a), Ok(meta_b)) = (std::fs::metadata(a), std::fs::metadata(b)) else { return Ok(false) };
    // Run from its installed place (the usual case over SSH): no need to read it twice.
    if a.canonicalize()? == b.canonicalize()? {
        return Ok(true);
    }
    if meta_a.len() != meta_b.len() {
        return Ok(false);
    }
    Ok(std::fs::read(a)? == std::fs::read(b)?)
}

impl Step for Binary {
    fn name(&self) -> String {
        format!("binary {BINARY}")
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        let current = std::env::current_exe().context("finding this executable")?;
        let installed = host.path(BINARY);
        let mut diffs = Vec::new();
        if !same_file(&current, &installed)? {
            diffs.push(format!("install {} as {BINARY}", current.display()));
        }
        if std::fs::metadata(&installed).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0) != 0o755 {
            diffs.push(format!("chmod 755 {BINARY}"));
        }
        Ok(diffs)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        let current = std::env::current_exe()?;
        let installed = host.path(BINARY);
        let temp = installed.with_extension("shoestring-new");
        std::fs::copy(&current, &temp).with_context(|| format!("copying to {}", temp.display()))?;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&temp, &installed)?;
        Ok(())
    }
}
