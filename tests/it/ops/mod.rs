//! Operations against real parts: backups and restores of the test database, the restore
//! drill, S3-compatible storage (s3s-fs), database and media copies, a full disk, and the
//! deployment checks.

mod backup;
mod dbcopy;
mod deploy_check;
mod diskfull;
mod drill;
mod s3;
mod support;
