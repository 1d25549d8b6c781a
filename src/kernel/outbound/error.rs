//! What can go wrong reading an outside API, one kind per cause, each with a message written for
//! staff (shown in the console and stored as a question's last error). Messages never contain a
//! request header (tokens live there) and name the host, not the full address.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The address is not one the client may use (scheme, syntax, credentials).
    #[error("{0}")]
    InvalidUrl(String),
    /// The address is private, loopback or reserved (SSRF guard).
    #[error("Refused: {0}")]
    Blocked(String),
    /// No answer within the limit, for the connection or for the whole response.
    #[error("The source did not {phase} within {}.", secs(*after))]
    Timeout { phase: Phase, after: Duration },
    /// Nothing listens there.
    #[error("The connection to {host} was refused.")]
    Refused { host: String },
    /// DNS, TLS or a broken connection.
    #[error("Could not reach {host}: {detail}")]
    Connect { host: String, detail: String },
    /// A redirect the client will not follow.
    #[error("Redirect not followed: {0}")]
    Redirect(String),
    /// The source answered with an error status.
    #[error("The source answered HTTP {code}{}.", reason_suffix(*code))]
    Status { code: u16 },
    /// The response is larger than the limit (it was not read past the limit).
    #[error("The response is larger than the {} limit.", bytes(*limit))]
    TooLarge { limit: usize },
    /// The body is not JSON.
    #[error("The response is not JSON: {0}.")]
    NotJson(String),
}

/// Which part of the exchange ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connect,
    Answer,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Connect => "accept the connection",
            Phase::Answer => "answer in full",
        })
    }
}

impl FetchError {
    /// A short, stable name for logs and the JSON API (`timeout`, `too_large`, `status`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::InvalidUrl(_) => "invalid_url",
            FetchError::Blocked(_) => "blocked",
            FetchError::Timeout { .. } => "timeout",
            FetchError::Refused { .. } => "connection_refused",
            FetchError::Connect { .. } => "connect",
            FetchError::Redirect(_) => "redirect",
            FetchError::Status { .. } => "status",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::NotJson(_) => "not_json",
        }
    }
}

fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) { format!("{} s", ms / 1000) } else { format!("{ms} ms") }
}

fn bytes(n: usize) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

fn reason_suffix(code: u16) -> String {
    reqwest::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" ({r})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_speak_to_staff() {
        assert_eq!(FetchError::Status { code: 404 }.to_string(), "The source answered HTTP 404 (Not Found).");
        assert_eq!(
            FetchError::Timeout { phase: Phase::Answer, after: Duration::from_secs(10) }.to_string(),
            "The source did not answer in full within 10 s."
        );
        assert_eq!(
            FetchError::TooLarge { limit: 2 * 1024 * 1024 }.to_string(),
            "The response is larger than the 2 MiB limit."
        );
        assert_eq!(
            FetchError::Refused { host: "api.example.com".into() }.to_string(),
            "The connection to api.example.com was refused."
        );
    }
}
