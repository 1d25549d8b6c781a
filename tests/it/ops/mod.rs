//! Operations against real parts: backups and restores of the test database, the restore
//! drill, S3-compatible storage (s3s-fs), database and media copies, and a full disk.

mod backup;
mod dbcopy;
mod diskfull;
mod drill;
mod s3;
mod support;
