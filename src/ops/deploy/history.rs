//! What happened to each site: one JSON line per deploy or rollback in the site's
//! `deploys.jsonl` (append-only), and each run's full log beside it in `logs/`, so `deploy
//! status` can say what was done, when, and why it stopped.

use std::io::Write as _;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::ops::server::host::Host;
use crate::ops::server::site::Site;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The new release runs and answered ready with its own commit.
    Deployed,
    /// Stopped before production changed (backup, rehearsal or migrations failed): the old
    /// release still runs, never restarted.
    Stopped,
    /// The new release did not become ready; the previous one runs again.
    RolledBack,
    /// Neither the new release nor the previous one became ready: someone must look.
    Down,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `deploy` or `rollback`.
    pub action: String,
    pub release: String,
    pub previous: Option<String>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// The archive the deploy made before it changed anything.
    pub backup: Option<String>,
    pub started_at: i64,
    pub seconds: f64,
    pub log: String,
}

fn history_path(site: &Site) -> String {
    format!("{}/deploys.jsonl", site.deploy_dir())
}

/// Where this run's log goes: `logs/<started>-<action>-<release>.log`.
pub fn log_path(site: &Site, started_at: i64, action: &str, release: &str) -> String {
    format!("{}/logs/{started_at}-{action}-{release}.log", site.deploy_dir())
}

pub fn append(host: &Host, site: &Site, record: &Record, log: &[String]) -> anyhow::Result<()> {
    let log_file = host.path(&record.log);
    std::fs::create_dir_all(log_file.parent().context("the log has no folder")?)?;
    std::fs::write(&log_file, log.join("\n") + "\n")?;
    let mut history = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(host.path(&history_path(site)))
        .context("opening the deploy history")?;
    writeln!(history, "{}", serde_json::to_string(record)?)?;
    history.sync_all()?;
    Ok(())
}

/// Every record, oldest first; a line that does not parse (a torn write) is skipped.
pub fn read(host: &Host, site: &Site) -> anyhow::Result<Vec<Record>> {
    let text = host.read(&history_path(site))?.unwrap_or_default();
    Ok(text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect())
}

/// The release that ran before `current`: the one the last successful deploy of it replaced
/// (a rollback is not counted, so rolling back twice goes two releases back, not to and fro).
pub fn before(records: &[Record], current: &str) -> Option<String> {
    records
        .iter()
        .rev()
        .filter(|r| r.action == "deploy" && r.outcome == Outcome::Deployed && r.release == current)
        .find_map(|r| r.previous.clone().filter(|p| p != current))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str, release: &str, previous: &str, outcome: Outcome) -> Record {
        Record {
            action: action.into(),
            release: release.into(),
            previous: Some(previous.into()),
            outcome,
            reason: None,
            backup: None,
            started_at: 0,
            seconds: 1.0,
            log: String::new(),
        }
    }

    #[test]
    fn the_release_before_the_current_one_is_what_the_last_successful_deploy_replaced() {
        let records = vec![
            record("deploy", "b", "a", Outcome::Deployed),
            record("deploy", "c", "b", Outcome::RolledBack),
            record("deploy", "c", "b", Outcome::Deployed),
            record("rollback", "b", "c", Outcome::Deployed),
        ];
        assert_eq!(before(&records, "c").as_deref(), Some("b"));
        assert_eq!(before(&records, "b").as_deref(), Some("a"));
        assert_eq!(before(&records, "a"), None, "nothing ran before the first release");
    }
}
