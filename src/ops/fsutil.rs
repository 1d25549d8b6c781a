//! Files that operations write: private by default (archives, snapshots and staging folders
//! hold every user's data, so 0600/0700 whatever the umask), scratch folders that remove
//! themselves, and moves that fall back to copy-then-rename across filesystems.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Creates `dir` and its missing parents; the ones created here are 0700.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)
}

/// Creates (or truncates) `path` readable by its owner only.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let file = options.open(path)?;
    // An existing file keeps its mode through open(): tighten it.
    #[cfg(unix)]
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// A folder deleted with everything in it when dropped: snapshots, staging and drills never
/// outlive the operation, even when it fails half-way.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// A new private folder `<parent>/<label>-<random>`.
    pub fn new(parent: &Path, label: &str) -> io::Result<Self> {
        create_private_dir(parent)?;
        let dir = parent.join(format!("{label}-{}", &crate::kernel::security::token::random_token()[..12]));
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        builder.mode(0o700);
        builder.create(&dir)?;
        Ok(Self(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(err) = fs::remove_dir_all(&self.0)
            && err.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.0.display(), error = %err, "could not remove a scratch folder");
        }
    }
}

/// Moves `from` to `to`: a rename, or on another filesystem a copy to a temporary name beside
/// `to`, synced, then renamed, so `to` never holds half a file.
pub fn move_file(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Ok(()) => return Ok(()),
        Err(e) if e.raw_os_error() != Some(18) => return Err(e), // 18: EXDEV, across filesystems
        Err(_) => {}
    }
    let partial = partial_name(to);
    let copied = (|| {
        let mut src = File::open(from)?;
        let mut dst = create_private_file(&partial)?;
        io::copy(&mut src, &mut dst)?;
        dst.sync_all()?;
        fs::rename(&partial, to)
    })();
    if copied.is_err() {
        let _ = fs::remove_file(&partial);
    }
    copied?;
    fs::remove_file(from)
}

/// Moves a whole folder (rename, or a copy of every file on another filesystem).
pub fn move_dir(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Ok(()) => return Ok(()),
        Err(e) if e.raw_os_error() != Some(18) => return Err(e),
        Err(_) => {}
    }
    create_private_dir(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            move_dir(&entry.path(), &target)?;
        } else {
            move_file(&entry.path(), &target)?;
        }
    }
    fs::remove_dir_all(from)
}

/// `.<name>.partial` in the same folder as `path`.
pub fn partial_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

/// Syncs a folder, so a rename inside it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
