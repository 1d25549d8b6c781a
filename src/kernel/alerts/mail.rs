//! The text of error mail: a subject with the error and where it happened, a body with what an
//! engineer needs to start (request id, method, route, user id, cause chain, time, version) and
//! nothing a reader must not see.

use std::fmt::Write;

use super::incident::Incident;

/// Subjects stay on one line and short enough for a mail client's list.
const MAX_SUBJECT_CHARS: usize = 150;

pub fn subject(site: &str, incident: &Incident) -> String {
    let what = match incident.kind {
        super::Kind::ServerError => {
            format!("{} at {}", incident.request.as_ref().map_or(500, |r| r.status), incident.place())
        }
        super::Kind::Panic => format!("panic at {}", incident.place()),
        super::Kind::DeadJob => format!("dead {}", incident.place()),
        super::Kind::BackupFailed => "backup failed".to_owned(),
        super::Kind::DrillFailed => "restore drill failed".to_owned(),
    };
    let line = format!("[{site}] {what}: {}", incident.root_cause()).replace(['\r', '\n'], " ");
    match line.char_indices().nth(MAX_SUBJECT_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// A Unix time as RFC 3339 (UTC).
pub fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// The first occurrence, in full.
pub fn report(incident: &Incident, time: &str, version: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "What:     {}", incident.kind.as_str().replace('_', " "));
    let _ = writeln!(out, "Where:    {}", incident.place());
    if let Some(request) = &incident.request {
        let _ = writeln!(out, "Status:   {}", request.status);
        let _ = writeln!(out, "Request:  {}", request.id);
        let _ = writeln!(out, "User id:  {}", request.user_id.as_deref().unwrap_or("(not signed in)"));
    }
    let _ = writeln!(out, "Time:     {time}");
    let _ = writeln!(out, "Version:  {version}");
    let _ = writeln!(out, "\nError and causes, outermost first:");
    for (i, cause) in incident.causes.iter().enumerate() {
        let _ = writeln!(out, "  {i}: {cause}");
    }
    out
}

/// The mail about a new error.
pub fn first_mail(report: &str) -> String {
    format!(
        "A new error happened. Further occurrences are counted and mailed at most once per interval.\n\n{report}{}",
        FOOTER
    )
}

/// The mail about further occurrences of a known error.
pub fn digest_mail(report: &str, unmailed: i64, occurrences: i64, first_seen: &str, last_seen: &str) -> String {
    format!(
        "This error happened {unmailed} more time(s) since the last mail ({occurrences} in all; first {first_seen}, \
         last {last_seen}).\n\nThe first occurrence:\n\n{report}{FOOTER}"
    )
}

const FOOTER: &str = "\n--\nSent to ADMINS. Request bodies, headers, cookies and query strings are never included; \
                      the request id finds the full log lines (journalctl -o cat | jq 'select(.span.request_id == \"…\")').\n";
