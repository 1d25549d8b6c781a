//! Opens an archive and unpacks it into a private staging folder, checking as it goes: the
//! header first (format and schema versions, before anything is written), then every entry's
//! name, size and SHA-256 against the closing manifest, then the end of every layer (age's
//! authenticated last chunk, zstd's checksum). A damaged, truncated or wrongly decrypted
//! archive fails here, and nothing outside the staging folder has been touched.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::keys::{ArchiveKeys, KeyError};
use super::manifest::{FORMAT_VERSION, HEADER_NAME, MANIFEST_NAME, MEDIA_PREFIX, Manifest};
use crate::kernel::media::is_valid_key;
use crate::kernel::security::token::hex;

const AGE_MAGIC: &[u8] = b"age-encryption.org/";
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// The header and the manifest are read into memory; a file list for ~1M files fits.
const MAX_MANIFEST_BYTES: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a Shoestring backup archive")]
    NotAnArchive,
    #[error("the archive is damaged or truncated: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("{0}")]
    Unsupported(String),
    #[error("could not write the restored files: {0}")]
    Write(io::Error),
    #[error("could not read the archive: {0}")]
    Read(io::Error),
}

fn corrupt(what: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Corrupt(what.to_string())
}

/// What the archive held, unpacked: the database file and the media folder in staging.
#[derive(Debug)]
pub struct Unpacked {
    pub manifest: Manifest,
    pub database: PathBuf,
    pub media_dir: PathBuf,
}

/// Unpacks `archive` into `staging` (created, mode 0700). `accept` sees the header first and
/// may refuse the archive before any file is written.
pub fn unpack(
    archive: &Path,
    keys: &ArchiveKeys,
    staging: &Path,
    accept: impl FnOnce(&Manifest) -> Result<(), ArchiveError>,
) -> Result<Unpacked, ArchiveError> {
    let plaintext = open_layers(archive, keys)?;
    let mut tar = tar::Archive::new(zstd::stream::read::Decoder::new(plaintext).map_err(corrupt)?);
    let mut entries = tar.entries().map_err(corrupt)?;

    let header: Manifest = read_json(&mut next_entry(&mut entries)?, HEADER_NAME)?;
    if header.format > FORMAT_VERSION {
        return Err(ArchiveError::Unsupported(format!(
            "archive format {} is newer than this binary reads ({FORMAT_VERSION}); use a newer shoestring",
            header.format
        )));
    }
    accept(&header)?;
    crate::ops::fsutil::create_private_dir(staging).map_err(ArchiveError::Write)?;
    let media_dir = staging.join("media");
    let database = staging.join(header.database.entry_name().trim_start_matches("database/"));
    let mut seen: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let manifest = loop {
        let mut entry = next_entry(&mut entries)?;
        let name = entry_name(&entry)?;
        if name == MANIFEST_NAME {
            break read_json::<Manifest>(&mut entry, MANIFEST_NAME)?;
        }
        let target = if name == header.database.entry_name() {
            database.clone()
        } else {
            match name.strip_prefix(MEDIA_PREFIX).filter(|key| is_valid_key(key)) {
                Some(key) => media_dir.join(key),
                None => return Err(corrupt(format!("unexpected entry {name}"))),
            }
        };
        if seen.contains_key(&name) {
            return Err(corrupt(format!("{name} appears twice")));
        }
        let hashed = copy_hashed(&mut entry, &target)?;
        seen.insert(name, hashed);
    };
    if entries.next().is_some() {
        return Err(corrupt("entries after the manifest"));
    }
    // Read every layer to its end: age authenticates its last chunk, zstd checks its checksum.
    io::copy(&mut tar.into_inner(), &mut io::sink()).map_err(corrupt)?;
    check_manifest(&header, &manifest, &seen)?;
    Ok(Unpacked { manifest, database, media_dir })
}

/// Reads only the header: what `backup list` and a quick look need.
pub fn read_header(archive: &Path, keys: &ArchiveKeys) -> Result<Manifest, ArchiveError> {
    let plaintext = open_layers(archive, keys)?;
    let mut tar = tar::Archive::new(zstd::stream::read::Decoder::new(plaintext).map_err(corrupt)?);
    let mut entries = tar.entries().map_err(corrupt)?;
    read_json(&mut next_entry(&mut entries)?, HEADER_NAME)
}

/// The plaintext stream of the archive file: decrypted when it is an age file.
fn open_layers(archive: &Path, keys: &ArchiveKeys) -> Result<Box<dyn Read>, ArchiveError> {
    let mut file = BufReader::with_capacity(1 << 20, File::open(archive).map_err(ArchiveError::Read)?);
    let mut magic = [0u8; 19];
    let read = read_up_to(&mut file, &mut magic).map_err(ArchiveError::Read)?;
    let chained = io::Cursor::new(magic[..read].to_vec()).chain(file);
    if magic[..read].starts_with(AGE_MAGIC) {
        Ok(Box::new(keys.open(chained)?))
    } else if magic[..read].starts_with(ZSTD_MAGIC) {
        Ok(Box::new(chained))
    } else {
        Err(ArchiveError::NotAnArchive)
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

type Entries<'a> = tar::Entries<'a, zstd::stream::read::Decoder<'static, BufReader<Box<dyn Read>>>>;
type Entry<'a> = tar::Entry<'a, zstd::stream::read::Decoder<'static, BufReader<Box<dyn Read>>>>;

fn next_entry<'a>(entries: &mut Entries<'a>) -> Result<Entry<'a>, ArchiveError> {
    let entry = match entries.next() {
        Some(entry) => entry.map_err(corrupt)?,
        None => return Err(corrupt("it ends before its manifest")),
    };
    if entry.header().entry_type() != tar::EntryType::Regular {
        return Err(corrupt("an entry is not a regular file"));
    }
    Ok(entry)
}

fn entry_name(entry: &Entry<'_>) -> Result<String, ArchiveError> {
    let path = entry.path().map_err(corrupt)?;
    path.to_str().map(str::to_owned).ok_or_else(|| corrupt("an entry name is not UTF-8"))
}

fn read_json<T: serde::de::DeserializeOwned>(entry: &mut Entry<'_>, expected: &str) -> Result<T, ArchiveError> {
    let name = entry_name(entry)?;
    if name != expected {
        return Err(corrupt(format!("expected {expected}, found {name}")));
    }
    if entry.size() > MAX_MANIFEST_BYTES {
        return Err(corrupt(format!("{name} is implausibly large")));
    }
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).map_err(corrupt)?;
    serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("{name}: {e}")))
}

/// Copies one entry to `target`, returning its size and SHA-256. Read errors mean a damaged
/// archive; write errors (a full disk) are reported as such.
fn copy_hashed(entry: &mut Entry<'_>, target: &Path) -> Result<(u64, String), ArchiveError> {
    if let Some(parent) = target.parent() {
        crate::ops::fsutil::create_private_dir(parent).map_err(ArchiveError::Write)?;
    }
    let mut out = io::BufWriter::new(crate::ops::fsutil::create_private_file(target).map_err(ArchiveError::Write)?);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = entry.read(&mut buf).map_err(corrupt)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(ArchiveError::Write)?;
        size += n as u64;
    }
    out.into_inner().map_err(|e| ArchiveError::Write(e.into_error()))?.sync_all().map_err(ArchiveError::Write)?;
    Ok((size, hex(&hasher.finalize())))
}

fn check_manifest(
    header: &Manifest,
    manifest: &Manifest,
    seen: &BTreeMap<String, (u64, String)>,
) -> Result<(), ArchiveError> {
    if manifest.header() != *header {
        return Err(corrupt("the manifest disagrees with the header"));
    }
    if manifest.database_file().is_none() {
        return Err(corrupt("the manifest lists no database"));
    }
    if manifest.files.len() != seen.len() {
        return Err(corrupt(format!(
            "the manifest lists {} files, the archive holds {}",
            manifest.files.len(),
            seen.len()
        )));
    }
    for file in &manifest.files {
        match seen.get(&file.path) {
            Some((size, sha)) if *size == file.size && *sha == file.sha256 => {}
            Some(_) => return Err(corrupt(format!("{} does not match its checksum", file.path))),
            None => return Err(corrupt(format!("{} is missing", file.path))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::archive::manifest::{DbKind, SQLITE_NAME};
    use crate::ops::archive::write::ArchiveWriter;
    use crate::ops::fsutil::ScratchDir;

    fn header(schema_version: i64) -> Manifest {
        Manifest {
            format: FORMAT_VERSION,
            app_version: "0.1.0".into(),
            schema_version,
            database: DbKind::Sqlite,
            created_at: 1_767_232_800,
            created_at_utc: "2026-01-01T02:00:00Z".into(),
            dump_tool: None,
            tables: [("posts".to_owned(), 2)].into(),
            files: Vec::new(),
        }
    }

    fn archive(dir: &Path, keys: &ArchiveKeys) -> PathBuf {
        let path = dir.join("a.tar.zst");
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = ArchiveWriter::create(file, keys, &header(10)).unwrap();
        writer.add_reader(SQLITE_NAME, 5, &b"hello"[..]).unwrap();
        writer.add_reader("media/posts/a.png", 3, &b"png"[..]).unwrap();
        writer.finish(header(10)).unwrap();
        path
    }

    #[test]
    fn an_archive_unpacks_to_the_files_it_was_made_of() {
        let dir = ScratchDir::new(&std::env::temp_dir(), "archive-test").unwrap();
        let keys = ArchiveKeys::with_passphrase("correct horse");
        let unpacked = unpack(&archive(dir.path(), &keys), &keys, &dir.path().join("out"), |_| Ok(())).unwrap();
        assert_eq!(std::fs::read(&unpacked.database).unwrap(), b"hello");
        assert_eq!(std::fs::read(unpacked.media_dir.join("posts/a.png")).unwrap(), b"png");
        assert_eq!(unpacked.manifest.files.len(), 2);
    }

    #[test]
    fn a_refused_header_stops_the_unpacking_before_any_file_is_written() {
        let dir = ScratchDir::new(&std::env::temp_dir(), "archive-test").unwrap();
        let keys = ArchiveKeys::default();
        let staging = dir.path().join("out");
        let refused = unpack(&archive(dir.path(), &keys), &keys, &staging, |h| {
            Err(ArchiveError::Unsupported(format!("schema {}", h.schema_version)))
        });
        assert!(matches!(refused, Err(ArchiveError::Unsupported(m)) if m == "schema 10"));
        assert!(!staging.exists());
    }

    #[test]
    fn anything_else_is_not_an_archive() {
        let dir = ScratchDir::new(&std::env::temp_dir(), "archive-test").unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "just text").unwrap();
        let err = unpack(&path, &ArchiveKeys::default(), &dir.path().join("out"), |_| Ok(())).unwrap_err();
        assert!(matches!(err, ArchiveError::NotAnArchive));
    }
}
