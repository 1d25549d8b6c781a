//! Files on this machine: the data folder and the environment file are private to the site
//! (the database, uploads and the secrets are in them), and the data disk has room.

use super::{Disk, FileMode, Probes};
use crate::kernel::config::Settings;
use crate::ops::report::Finding;

pub fn check(settings: &Settings, probes: &Probes) -> Vec<Finding> {
    let mut findings = Vec::new();
    findings.extend(probes.data_dir.as_ref().map(data_dir));
    findings.extend(probes.env_file.as_ref().map(env_file));
    findings.extend(probes.disk.as_ref().map(|disk| free_space(disk, settings.operations.ready_min_free_mb)));
    findings
}

fn data_dir(dir: &FileMode) -> Finding {
    let id = "OPS-DATA-DIR";
    let path = dir.path.display();
    let fix = format!("chmod 0700 {path} (owned by the site's user)");
    match dir.mode {
        Err(ref err) => {
            Finding::warning(id, format!("{path}: {err}"), "create it, owned by the site's user, mode 0700")
        }
        Ok(mode) if mode & 0o002 != 0 => Finding::error(id, format!("{path} is world-writable ({mode:04o})"), fix),
        Ok(mode) if mode & 0o004 != 0 => Finding::warning(id, format!("{path} is world-readable ({mode:04o})"), fix),
        Ok(mode) => Finding::ok(id, format!("{path} is private ({mode:04o})")),
    }
}

/// The environment file holds SECRET_KEY and the database and SMTP passwords.
fn env_file(file: &FileMode) -> Finding {
    let id = "OPS-ENV-FILE";
    let path = file.path.display();
    let fix = format!("chmod 0640 {path}, owned by root and the site's group");
    match file.mode {
        Err(ref err) => {
            Finding::error(id, format!("ENV_FILE {path}: {err}"), "point ENV_FILE at the file the settings come from")
        }
        Ok(mode) if mode & 0o006 != 0 => {
            Finding::error(id, format!("{path} is readable or writable by every user ({mode:04o})"), fix)
        }
        Ok(mode) if mode & 0o020 != 0 => Finding::warning(id, format!("{path} is group-writable ({mode:04o})"), fix),
        Ok(mode) => Finding::ok(id, format!("{path} is private ({mode:04o})")),
    }
}

fn free_space(disk: &Disk, min_mb: u64) -> Finding {
    let id = "OPS-DISK";
    let dir = disk.dir.display();
    let fix = "free space on that disk (old backups in BACKUP_WORK_DIR, logs) or grow it";
    match disk.free_mb {
        Err(ref err) => Finding::error(id, format!("cannot read the free space of {dir}: {err}"), fix),
        // A warning, not an error: refusing to start would turn a nearly full disk into an outage,
        // while /readyz already fails and reads can still be served.
        Ok(free) if free < min_mb => Finding::warning(
            id,
            format!("{free} MiB free on {dir}, below READY_MIN_FREE_MB ({min_mb}): /readyz fails"),
            fix,
        ),
        // A backup needs room for a snapshot next to the database: warn well before /readyz fails.
        Ok(free) if free < 4 * min_mb => Finding::warning(id, format!("only {free} MiB free on {dir}"), fix),
        Ok(free) => Finding::ok(id, format!("{free} MiB free on {dir}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::report::Severity;

    fn mode(bits: u32) -> FileMode {
        FileMode { path: "/srv/data".into(), mode: Ok(bits) }
    }

    #[test]
    fn a_world_writable_data_folder_is_an_error_and_a_readable_one_a_warning() {
        assert_eq!(data_dir(&mode(0o40777)).severity, Severity::Error);
        assert_eq!(data_dir(&mode(0o40755)).severity, Severity::Warning);
        assert_eq!(data_dir(&mode(0o40700)).severity, Severity::Ok);
    }

    #[test]
    fn an_env_file_others_can_read_is_an_error() {
        assert_eq!(env_file(&mode(0o100644)).severity, Severity::Error);
        assert_eq!(env_file(&mode(0o100640)).severity, Severity::Ok);
        assert_eq!(env_file(&mode(0o100660)).severity, Severity::Warning);
    }
}
