//! Which backups to keep: the newest archive of each of the last N days, N ISO weeks and N
//! months that have one (grandfather-father-son), plus always the newest of all. Everything
//! else is pruned after a successful backup. Archive names carry their UTC creation time.

use std::collections::BTreeSet;

use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

pub const ARCHIVE_PREFIX: &str = "shoestring-";
const STAMP: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

/// `20260102T030405Z`: a UTC time that sorts and fits in a file name.
pub fn stamp(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(STAMP).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// `shoestring-20260102T030405Z.tar.zst`, with `.age` when encrypted.
pub fn archive_name(created_at: i64, encrypted: bool) -> String {
    format!("{ARCHIVE_PREFIX}{}.tar.zst{}", stamp(created_at), if encrypted { ".age" } else { "" })
}

/// The creation time written in an archive's name; `None` for any other file.
pub fn created_at_of(name: &str) -> Option<i64> {
    let rest = name.strip_prefix(ARCHIVE_PREFIX)?;
    let (stamp, suffix) = rest.split_once('.')?;
    if suffix != "tar.zst" && suffix != "tar.zst.age" {
        return None;
    }
    Some(PrimitiveDateTime::parse(stamp, STAMP).ok()?.assume_utc().unix_timestamp())
}

/// The day, ISO week or month an archive falls in, as (year, number).
type BucketOf = fn(OffsetDateTime) -> (i32, u32);

/// The names to keep among `archives` (name, created at).
pub fn keep(archives: &[(String, i64)], policy: Retention) -> BTreeSet<String> {
    let mut newest_first: Vec<&(String, i64)> = archives.iter().collect();
    newest_first.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    let mut kept = BTreeSet::new();
    if let Some(newest) = newest_first.first() {
        kept.insert(newest.0.clone());
    }
    let buckets: [(usize, BucketOf); 3] = [
        (policy.daily, |t| (t.year(), t.ordinal().into())),
        (policy.weekly, |t| {
            let (year, week, _) = t.to_iso_week_date();
            (year, week.into())
        }),
        (policy.monthly, |t| (t.year(), u8::from(t.month()).into())),
    ];
    for (count, bucket_of) in buckets {
        let mut seen = BTreeSet::new();
        for (name, created_at) in &newest_first {
            if seen.len() >= count {
                break;
            }
            let Ok(time) = OffsetDateTime::from_unix_timestamp(*created_at) else { continue };
            if seen.insert(bucket_of(time)) {
                kept.insert(name.clone());
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    /// 2026-01-01T02:00:00Z, a Thursday.
    const START: i64 = 1_767_232_800;

    fn daily_for(days: i64) -> Vec<(String, i64)> {
        (0..days).map(|d| START + d * DAY).map(|t| (archive_name(t, false), t)).collect()
    }

    #[test]
    fn names_carry_their_time_and_nothing_else_parses() {
        let name = archive_name(START, true);
        assert_eq!(name, "shoestring-20260101T020000Z.tar.zst.age");
        assert_eq!(created_at_of(&name), Some(START));
        assert_eq!(created_at_of("shoestring-20260101T020000Z.tar.zst.partial"), None);
        assert_eq!(created_at_of("notes.txt"), None);
    }

    #[test]
    fn a_year_of_daily_backups_keeps_seven_days_four_weeks_twelve_months() {
        let archives = daily_for(365);
        let kept = keep(&archives, Retention { daily: 7, weekly: 4, monthly: 12 });
        // 7 newest days; the weeks and months add their newest archive where not already kept.
        let newest_days: Vec<String> = archives.iter().rev().take(7).map(|a| a.0.clone()).collect();
        assert!(newest_days.iter().all(|n| kept.contains(n)));
        assert!(kept.len() >= 7 + 3 + 11 - 2 && kept.len() <= 7 + 4 + 12, "{}", kept.len());
        let oldest_kept = kept.iter().filter_map(|n| created_at_of(n)).min().unwrap();
        assert!(oldest_kept >= START + 365 * DAY - 12 * 31 * DAY);
        assert!(!kept.contains(&archives[0].0), "the first day is older than 12 months of buckets");
    }

    #[test]
    fn several_backups_a_day_keep_the_newest_of_each_day() {
        let archives: Vec<(String, i64)> =
            (0..6).map(|h| START + h * 3600).map(|t| (archive_name(t, false), t)).collect();
        let kept = keep(&archives, Retention { daily: 7, weekly: 0, monthly: 0 });
        assert_eq!(kept.into_iter().collect::<Vec<_>>(), vec![archives[5].0.clone()]);
    }

    #[test]
    fn the_newest_is_kept_even_with_a_zero_policy() {
        let archives = daily_for(3);
        let kept = keep(&archives, Retention { daily: 0, weekly: 0, monthly: 0 });
        assert_eq!(kept.len(), 1);
        assert!(kept.contains(&archives[2].0));
    }
}
