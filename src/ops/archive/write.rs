//! Writes an archive as one stream: tar entries, zstd-compressed (with its frame checksum),
//! then age-encrypted when a key is set, into a file the caller opened. Each file is hashed as
//! it is copied, so memory stays flat however large the database is; the manifest with every
//! hash is the last entry. Blocking I/O: run it on a blocking thread.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::keys::ArchiveKeys;
use super::manifest::{FileEntry, HEADER_NAME, MANIFEST_NAME, Manifest};
use crate::kernel::security::token::hex;

const ZSTD_LEVEL: i32 = 3;

/// Bytes written between two syncs of the archive file.
const SYNC_EVERY: u64 = 8 << 20;

/// The archive file, synced every `SYNC_EVERY` bytes as it is written. One sync of the whole
/// archive at the end made the kernel write it all at once, and the app's own writes waited
/// behind that flush (a like took 100 ms at the end of a 1 GB database's backup, BENCHMARKS.md).
struct WriteBehind {
    file: File,
    unsynced: u64,
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.file.write(buf)?;
        self.unsynced += written as u64;
        if self.unsynced >= SYNC_EVERY {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The file under the compressor: plain, or behind age's encrypting writer.
enum Sink {
    Plain(BufWriter<WriteBehind>),
    Sealed(age::stream::StreamWriter<BufWriter<WriteBehind>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Sealed(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Sealed(w) => w.flush(),
        }
    }
}

pub struct ArchiveWriter {
    tar: tar::Builder<zstd::stream::write::Encoder<'static, Sink>>,
    files: Vec<FileEntry>,
    mtime: u64,
}

impl ArchiveWriter {
    /// Starts the archive in `file` and writes the header (the manifest without files).
    pub fn create(file: File, keys: &ArchiveKeys, header: &Manifest) -> io::Result<Self> {
        let buffered = BufWriter::with_capacity(1 << 20, WriteBehind { file, unsynced: 0 });
        let sink = match keys.seal(buffered)? {
            Ok(sealed) => Sink::Sealed(sealed),
            Err(plain) => Sink::Plain(plain),
        };
        Self::start(sink, header)
    }

    fn start(sink: Sink, header: &Manifest) -> io::Result<Self> {
        let mut encoder = zstd::stream::write::Encoder::new(sink, ZSTD_LEVEL)?;
        encoder.include_checksum(true)?;
        let mut tar = tar::Builder::new(encoder);
        tar.mode(tar::HeaderMode::Deterministic);
        let mtime = u64::try_from(header.created_at).unwrap_or(0);
        let mut writer = Self { tar, files: Vec::new(), mtime };
        let json = serde_json::to_vec_pretty(&header.header()).map_err(io::Error::other)?;
        writer.append_raw(HEADER_NAME, &json)?;
        Ok(writer)
    }

    /// Adds the file at `path` as `name`, hashing it on the way.
    pub fn add_file(&mut self, name: &str, path: &Path) -> io::Result<()> {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        self.add_reader(name, size, file)
    }

    /// Adds `size` bytes from `reader` as `name`; a reader that ends early is an error (the
    /// tar header already promised `size`).
    pub fn add_reader(&mut self, name: &str, size: u64, reader: impl Read) -> io::Result<()> {
        let mut hashing = Hashing { inner: reader.take(size), hasher: Sha256::new(), count: 0 };
        let mut header = self.header_for(size);
        self.tar.append_data(&mut header, name, &mut hashing)?;
        if hashing.count != size {
            return Err(io::Error::other(format!("{name} changed size while it was archived")));
        }
        self.files.push(FileEntry { path: name.to_owned(), size, sha256: hex(&hashing.hasher.finalize()) });
        Ok(())
    }

    /// Appends the complete manifest, closes every layer and syncs the file to disk.
    pub fn finish(mut self, mut manifest: Manifest) -> io::Result<Manifest> {
        manifest.files = std::mem::take(&mut self.files);
        let json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
        self.append_raw(MANIFEST_NAME, &json)?;
        let encoder = self.tar.into_inner()?;
        let file = match encoder.finish()? {
            Sink::Plain(w) => w.into_inner().map_err(io::IntoInnerError::into_error)?,
            Sink::Sealed(w) => w.finish()?.into_inner().map_err(io::IntoInnerError::into_error)?,
        };
        file.file.sync_all()?;
        Ok(manifest)
    }

    fn append_raw(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let mut header = self.header_for(bytes.len() as u64);
        self.tar.append_data(&mut header, name, bytes)
    }

    fn header_for(&self, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(0o600);
        header.set_mtime(self.mtime);
        header
    }
}

/// Counts and hashes what passes through.
pub struct Hashing<R> {
    pub inner: R,
    pub hasher: Sha256,
    pub count: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}
