//! Settings for file storage and backups: where media lives (a folder or an S3-compatible
//! bucket), the S3 endpoint and credentials, and where, how often and under which key backups
//! are written. Parsed here; used by `kernel::media` and `ops`.

use std::path::PathBuf;

use clap::Args;

use super::{ConfigError, Secret, problem};

#[derive(Clone, Debug, Args)]
pub struct StorageSettings {
    /// Where uploaded images live: unset keeps them in MEDIA_DIR; `s3://bucket/prefix` puts them
    /// in S3-compatible storage (set S3_ENDPOINT and the S3 credentials).
    #[arg(long, env = "MEDIA_STORE", global = true)]
    pub media_store: Option<String>,
    /// An upload or read of a media file on object storage gives up after this many seconds
    /// (retries included), so a storage outage answers 503 quickly.
    #[arg(long, env = "MEDIA_TIMEOUT_SECS", default_value_t = 5, global = true)]
    pub media_timeout_secs: u64,
    /// The S3 API address, e.g. `https://s3.eu-central-003.backblazeb2.com`. Unset: AWS.
    #[arg(long, env = "S3_ENDPOINT", global = true)]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "S3_REGION", default_value = "us-east-1", global = true)]
    pub s3_region: String,
    #[arg(long, env = "S3_ACCESS_KEY_ID", global = true)]
    pub s3_access_key_id: Option<String>,
    #[arg(long, env = "S3_SECRET_ACCESS_KEY", global = true)]
    pub s3_secret_access_key: Option<Secret>,
    /// Where backups go: a folder, or `s3://bucket/prefix`. Setting it turns on scheduled backups.
    #[arg(long, env = "BACKUP_TO", global = true)]
    pub backup_to: Option<String>,
    /// How often a scheduled backup runs: `hourly`, `daily`, `weekly`, `<N>h` or `off`.
    #[arg(long, env = "BACKUP_SCHEDULE", default_value = "daily", global = true)]
    pub backup_schedule: String,
    /// How often the restore drill runs (`backup verify --latest`): same forms as BACKUP_SCHEDULE.
    #[arg(long, env = "BACKUP_DRILL_SCHEDULE", default_value = "weekly", global = true)]
    pub backup_drill_schedule: String,
    /// Backups kept: the newest of each of this many days …
    #[arg(long, env = "BACKUP_KEEP_DAILY", default_value_t = 7, global = true)]
    pub backup_keep_daily: usize,
    /// … of each of this many ISO weeks …
    #[arg(long, env = "BACKUP_KEEP_WEEKLY", default_value_t = 4, global = true)]
    pub backup_keep_weekly: usize,
    /// … and of each of this many months; older ones are deleted after each backup.
    #[arg(long, env = "BACKUP_KEEP_MONTHLY", default_value_t = 12, global = true)]
    pub backup_keep_monthly: usize,
    /// Encrypt backups to this age public key (`age1…`); keep its identity off the server, or
    /// give it as BACKUP_IDENTITY_FILE where the drill or a restore runs.
    #[arg(long, env = "BACKUP_RECIPIENT", global = true)]
    pub backup_recipient: Option<String>,
    /// An age identity file (`AGE-SECRET-KEY-1…` lines) that opens encrypted backups.
    #[arg(long, env = "BACKUP_IDENTITY_FILE", global = true)]
    pub backup_identity_file: Option<PathBuf>,
    /// Encrypt backups with this passphrase instead (age's scrypt mode); it also opens them.
    #[arg(long, env = "BACKUP_PASSPHRASE", global = true)]
    pub backup_passphrase: Option<Secret>,
    /// Scratch space for snapshots, archives in the making and restore drills (private, 0700).
    #[arg(long, env = "BACKUP_WORK_DIR", default_value = "data/backup-work", global = true)]
    pub backup_work_dir: PathBuf,
    /// Folder of `pg_dump` and `pg_restore` when the ones on PATH are too old for the server.
    #[arg(long, env = "PG_BIN_DIR", global = true)]
    pub pg_bin_dir: Option<PathBuf>,
    /// The PostgreSQL server on which the drill creates (and drops) its scratch database, as a
    /// role allowed to CREATE DATABASE. Default: DATABASE_URL.
    #[arg(long, env = "DRILL_DATABASE_URL", global = true)]
    pub drill_database_url: Option<Secret>,
}

/// A recurring schedule as seconds between runs; `None` when off.
pub fn parse_every(value: &str) -> Result<Option<i64>, String> {
    let value = value.trim().to_ascii_lowercase();
    let hours = match value.as_str() {
        "off" | "never" | "" => return Ok(None),
        "hourly" => 1,
        "daily" => 24,
        "weekly" => 24 * 7,
        other => other
            .strip_suffix('h')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| (1..=24 * 366).contains(n))
            .ok_or_else(|| format!("`{other}` is not hourly, daily, weekly, off or a number of hours like 6h"))?,
    };
    Ok(Some(hours * 3600))
}

impl StorageSettings {
    pub fn backup_every_secs(&self) -> Option<i64> {
        self.backup_to.as_ref().and_then(|_| parse_every(&self.backup_schedule).ok().flatten())
    }

    pub fn drill_every_secs(&self) -> Option<i64> {
        self.backup_to.as_ref().and_then(|_| parse_every(&self.backup_drill_schedule).ok().flatten())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        parse_every(&self.backup_schedule).map_err(|p| problem("BACKUP_SCHEDULE", p))?;
        parse_every(&self.backup_drill_schedule).map_err(|p| problem("BACKUP_DRILL_SCHEDULE", p))?;
        if self.backup_recipient.is_some() && self.backup_passphrase.is_some() {
            return Err(problem("BACKUP_PASSPHRASE", "set either BACKUP_RECIPIENT or BACKUP_PASSPHRASE, not both"));
        }
        if let Some(recipient) = &self.backup_recipient
            && recipient.trim().parse::<age::x25519::Recipient>().is_err()
        {
            return Err(problem("BACKUP_RECIPIENT", "not an age public key (age1…)"));
        }
        if self.media_timeout_secs == 0 || self.media_timeout_secs > 120 {
            return Err(problem("MEDIA_TIMEOUT_SECS", "must be between 1 and 120 seconds"));
        }
        let uses_s3 = [&self.media_store, &self.backup_to].into_iter().flatten().any(|u| u.starts_with("s3://"));
        if uses_s3 && (self.s3_access_key_id.is_none() || self.s3_secret_access_key.is_none()) {
            return Err(problem("S3_ACCESS_KEY_ID", "s3:// storage needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"));
        }
        if let Some(store) = &self.media_store
            && !store.starts_with("s3://")
        {
            return Err(problem("MEDIA_STORE", "must be an s3://bucket/prefix URL (unset keeps files in MEDIA_DIR)"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_every;

    #[test]
    fn schedules_are_named_or_counted_in_hours() {
        assert_eq!(parse_every("daily"), Ok(Some(86_400)));
        assert_eq!(parse_every("Weekly"), Ok(Some(604_800)));
        assert_eq!(parse_every("6h"), Ok(Some(21_600)));
        assert_eq!(parse_every("off"), Ok(None));
        assert!(parse_every("0h").is_err());
        assert!(parse_every("every tuesday").is_err());
    }
}
