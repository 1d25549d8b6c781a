//! What went wrong, as an error mail and an error tracker see it: the kind, where (route or job),
//! the cause chain and the request's id, method and user, scrubbed of anything secret. It never
//! holds a request body, a header, a cookie or a query string: they are not collected at all.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The longest cause line kept: a cause that quotes a whole document stays readable.
const MAX_CAUSE_CHARS: usize = 500;
const MAX_CAUSES: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A request answered 5xx by an error the app did not expect.
    ServerError,
    Panic,
    /// A job that failed its last attempt.
    DeadJob,
    BackupFailed,
    DrillFailed,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ServerError => "server_error",
            Kind::Panic => "panic",
            Kind::DeadJob => "dead_job",
            Kind::BackupFailed => "backup_failed",
            Kind::DrillFailed => "drill_failed",
        }
    }
}

/// The request an error happened in. The route is the template (`/posts/{id}/`), never the raw
/// path, which may carry a token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestInfo {
    pub id: String,
    pub method: String,
    pub route: String,
    pub status: u16,
    pub user_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub kind: Kind,
    /// The error and its causes, outermost first, scrubbed.
    pub causes: Vec<String>,
    pub request: Option<RequestInfo>,
    /// The job kind, for a dead job.
    pub job: Option<String>,
}

impl Incident {
    pub fn new(kind: Kind, causes: impl IntoIterator<Item = String>) -> Self {
        let causes: Vec<String> = causes.into_iter().take(MAX_CAUSES).map(|c| truncate(&scrub(&c))).collect();
        let causes = if causes.is_empty() { vec!["(no message)".to_owned()] } else { causes };
        Self { kind, causes, request: None, job: None }
    }

    /// An incident from an error and its cause chain.
    pub fn from_error(kind: Kind, err: &anyhow::Error) -> Self {
        Self::new(kind, err.chain().map(ToString::to_string))
    }

    pub fn in_request(mut self, request: RequestInfo) -> Self {
        self.request = Some(request);
        self
    }

    pub fn in_job(mut self, job: &str) -> Self {
        self.job = Some(job.to_owned());
        self
    }

    /// Where it happened: `GET /posts/{id}/`, `job accounts.email`, or the kind for backups.
    pub fn place(&self) -> String {
        match (&self.request, &self.job) {
            (Some(r), _) => format!("{} {}", r.method, r.route),
            (None, Some(job)) => format!("job {job}"),
            (None, None) => self.kind.as_str().replace('_', " "),
        }
    }

    /// The root cause: what grouping keys on and what the subject names.
    pub fn root_cause(&self) -> &str {
        self.causes.last().map_or("", String::as_str)
    }

    /// Equal for the same error in the same place, whatever ids or numbers it mentions: a
    /// thousand failures of `post 17`, `post 18`… are one group.
    pub fn signature(&self) -> String {
        let digits_folded: String =
            self.root_cause().chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect();
        let hash = Sha256::digest(format!("{}\n{}\n{}", self.kind.as_str(), self.place(), digits_folded));
        hash[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_CAUSE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Words after which an error message may quote a secret (`password=…`, `token: …`).
const SECRET_WORDS: [&str; 8] =
    ["password", "passwd", "secret", "token", "apikey", "api_key", "authorization", "cookie"];
/// Their values may hold spaces (`Authorization: Bearer …`): hidden to the end of the line.
const WHOLE_LINE_WORDS: [&str; 2] = ["authorization", "cookie"];

/// Hides what an error message may quote that must not travel by mail: the password in a URL
/// (`postgres://user:pw@host`) and the value after a secret-sounding word. Written here because
/// it is two small rules, not worth a regex engine in the binary.
pub fn scrub(text: &str) -> String {
    let text = scrub_url_passwords(text);
    let lower = text.to_ascii_lowercase();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for word in SECRET_WORDS {
        let whole_line = WHOLE_LINE_WORDS.contains(&word);
        spans.extend(lower.match_indices(word).filter_map(|(at, _)| value_span(&text, at + word.len(), whole_line)));
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in spans {
        if start >= copied {
            out.push_str(&text[copied..start]);
            out.push_str("[redacted]");
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The value after a secret word in `word=value`, `word: value` or `word "value"`, if one follows.
fn value_span(text: &str, after: usize, whole_line: bool) -> Option<(usize, usize)> {
    let rest = &text[after..];
    let skipped = rest.len() - rest.trim_start_matches(['=', ':', ' ', '"', '\'']).len();
    if !rest[..skipped].contains(['=', ':']) {
        return None;
    }
    let start = after + skipped;
    let stops: &[char] = if whole_line { &['\n', '"', '\''] } else { &[' ', '\n', '"', '\'', ',', ';', '&', ')'] };
    let len = text[start..].find(stops).unwrap_or(text.len() - start);
    (len > 0).then_some((start, start + len))
}

fn scrub_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(scheme) = rest.find("://") {
        let authority_start = scheme + 3;
        out.push_str(&rest[..authority_start]);
        let tail = &rest[authority_start..];
        let authority_len = tail.find(['/', ' ', '?', '#']).unwrap_or(tail.len());
        let authority = &tail[..authority_len];
        match authority.rfind('@') {
            Some(at) if authority[..at].contains(':') => {
                let user = &authority[..authority[..at].find(':').unwrap_or(at)];
                out.push_str(&format!("{user}:[redacted]{}", &authority[at..]));
            }
            _ => out.push_str(authority),
        }
        rest = &tail[authority_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_and_after_secret_words_are_hidden() {
        assert_eq!(
            scrub("connect postgres://app:hunter2@db:5432/app failed"),
            "connect postgres://app:[redacted]@db:5432/app failed"
        );
        assert_eq!(scrub("bad password=hunter2 for user"), "bad password=[redacted] for user");
        assert_eq!(scrub("sent Authorization: Bearer abc\nnext"), "sent Authorization: [redacted]\nnext");
        assert_eq!(scrub("secret=a, token: b"), "secret=[redacted], token: [redacted]");
        assert_eq!(scrub("token expired"), "token expired", "a word without a value stays");
        assert_eq!(scrub("https://example.com/x"), "https://example.com/x");
    }

    #[test]
    fn the_same_error_with_other_numbers_has_one_signature() {
        let one = Incident::new(Kind::ServerError, ["post 17 is broken".to_owned()]);
        let two = Incident::new(Kind::ServerError, ["post 18 is broken".to_owned()]);
        let other = Incident::new(Kind::ServerError, ["post 18 is lost".to_owned()]);
        assert_eq!(one.signature(), two.signature());
        assert_ne!(one.signature(), other.signature());
        assert_ne!(one.signature(), Incident::new(Kind::Panic, ["post 17 is broken".to_owned()]).signature());
    }

    #[test]
    fn long_causes_are_cut_and_an_empty_chain_still_says_something() {
        let long = Incident::new(Kind::DeadJob, ["é".repeat(2000)]);
        assert_eq!(long.causes[0].chars().count(), MAX_CAUSE_CHARS + 1);
        assert_eq!(Incident::new(Kind::Panic, Vec::new()).root_cause(), "(no message)");
    }
}
