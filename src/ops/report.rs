//! The one report format of every operations check (`server check`, the end of `server setup`,
//! and `check --deploy`): findings with a stable id, a severity, a one-line message and a one-line
//! fix, printed as text or JSON. A report with any error makes the command exit non-zero.
//! It knows nothing about what was checked.

use std::fmt::Write as _;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One checked fact. `id` is stable (e.g. `HOST-SSH-PASSWORD`) so scripts and docs can refer to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub message: String,
    /// What to do about it; empty when there is nothing to do.
    pub fix: String,
}

impl Finding {
    pub fn ok(id: &str, message: impl Into<String>) -> Self {
        Self { id: id.to_owned(), severity: Severity::Ok, message: message.into(), fix: String::new() }
    }

    pub fn info(id: &str, message: impl Into<String>) -> Self {
        Self { id: id.to_owned(), severity: Severity::Info, message: message.into(), fix: String::new() }
    }

    pub fn warning(id: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { id: id.to_owned(), severity: Severity::Warning, message: message.into(), fix: fix.into() }
    }

    pub fn error(id: &str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { id: id.to_owned(), severity: Severity::Error, message: message.into(), fix: fix.into() }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Report {
    pub title: String,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), findings: Vec::new() }
    }

    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    pub fn extend(&mut self, findings: impl IntoIterator<Item = Finding>) {
        self.findings.extend(findings);
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    /// Non-zero when any finding is an error, so CI and scripts can gate on the report.
    pub fn exit_code(&self) -> ExitCode {
        if self.has_errors() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
    }

    /// One line per finding (`[severity] ID  message`), the fix indented below, then a summary.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if !self.title.is_empty() {
            let _ = writeln!(out, "{}", self.title);
        }
        let width = self.findings.iter().map(|f| f.id.len()).max().unwrap_or(0);
        for f in &self.findings {
            let _ = writeln!(out, "  [{:<7}] {:<width$}  {}", f.severity.label(), f.id, f.message);
            if !f.fix.is_empty() {
                let _ = writeln!(out, "  {:>9} {:<width$}  fix: {}", "", "", f.fix);
            }
        }
        let _ = writeln!(
            out,
            "  {} ok, {} info, {} warnings, {} errors",
            self.count(Severity::Ok),
            self.count(Severity::Info),
            self.count(Severity::Warning),
            self.count(Severity::Error)
        );
        out
    }

    pub fn to_json(&self) -> String {
        // A struct of strings and enums always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut report = Report::new("host checks");
        report.push(Finding::ok("HOST-FIREWALL", "inbound policy drop"));
        report.push(Finding::error("HOST-SSH-PASSWORD", "password logins are on", "run setup again"));
        report
    }

    #[test]
    fn any_error_makes_the_exit_status_non_zero() {
        let mut report = sample();
        assert!(report.has_errors());
        assert_eq!(report.exit_code(), ExitCode::FAILURE);
        report.findings.pop();
        report.push(Finding::warning("HOST-TLS-EXPIRY", "expires in 9 days", "check Caddy's logs"));
        assert_eq!(report.exit_code(), ExitCode::SUCCESS);
    }

    #[test]
    fn text_shows_each_finding_its_fix_and_a_summary() {
        let text = sample().to_text();
        assert!(text.contains("[ok     ] HOST-FIREWALL"), "{text}");
        assert!(text.contains("[error  ] HOST-SSH-PASSWORD  password logins are on"), "{text}");
        assert!(text.contains("fix: run setup again"), "{text}");
        assert!(text.contains("1 ok, 0 info, 0 warnings, 1 errors"), "{text}");
    }

    #[test]
    fn json_has_id_severity_message_and_fix() {
        let json: serde_json::Value = serde_json::from_str(&sample().to_json()).unwrap();
        let finding = &json["findings"][1];
        assert_eq!(finding["id"], "HOST-SSH-PASSWORD");
        assert_eq!(finding["severity"], "error");
        assert_eq!(finding["fix"], "run setup again");
    }
}
