//! The backup archive format: one stream of tar entries (a header, the database, the media
//! files, the manifest), zstd-compressed, optionally age-encrypted. `write` makes one, `read`
//! checks and unpacks one, `keys` holds what seals and opens them.

pub mod keys;
pub mod manifest;
pub mod read;
pub mod write;
