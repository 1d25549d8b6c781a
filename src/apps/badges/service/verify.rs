//! Verifying a badge earned elsewhere. Open Badges 2.0: the hosted assertion is fetched from its
//! own id (the hosted copy is what counts), then its BadgeClass and Issuer; the assertion must
//! live on the issuer's origin, name one of the holder's confirmed addresses, be unexpired and
//! absent from the issuer's revocation list (410 or `revoked: true` mean revoked). Open Badges
//! 3.0: a VC-JWT signed with Ed25519 by a key the issuer's profile publishes (`jwks_uri`), with
//! its dates, its Bitstring Status List entry and its hashed recipient checked. Every check goes
//! into the report, passed or not.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use crate::apps::badges::openbadges::bake::{self, Version};
use crate::apps::badges::openbadges::{ob2::hashed_identity, ob3};
use crate::kernel::outbound::{FetchError, Outbound};

mod v2;
mod v3;

/// One check and its outcome.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// What a verification found.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Report {
    pub version: String,
    pub source_id: String,
    /// The text that was verified (a URL, JSON or a compact JWT), kept for re-verification.
    pub original: String,
    pub badge_name: String,
    pub issuer_name: String,
    pub image_url: String,
    pub issued_on: Option<i64>,
    pub expires_at: Option<i64>,
    pub checks: Vec<Check>,
    pub revoked: bool,
    pub expired: bool,
}

impl Report {
    fn check(&mut self, name: &str, ok: bool, detail: impl Into<String>) -> bool {
        self.checks.push(Check { name: name.to_owned(), ok, detail: detail.into() });
        ok
    }

    /// `valid`, or why not: `revoked`, `expired` (when that is all that failed) or `invalid`.
    pub fn status(&self) -> &'static str {
        let failed: Vec<&Check> = self.checks.iter().filter(|c| !c.ok).collect();
        if self.revoked {
            "revoked"
        } else if failed.is_empty() && !self.checks.is_empty() {
            "valid"
        } else if self.expired && failed.iter().all(|c| c.name == "Not expired") {
            "expired"
        } else {
            "invalid"
        }
    }
}

/// What the person gave us.
pub enum Source {
    /// An uploaded file: a baked PNG or SVG, or a JSON or JWT text file.
    File(Vec<u8>),
    /// A pasted URL of a hosted assertion (or of a credential).
    Url(String),
    /// Text kept from an earlier import (URL, JSON or JWT).
    Stored(String),
}

/// Everything the checks need from outside: the HTTP client, the holder's addresses, now.
pub struct Verifier<'a> {
    pub outbound: &'a Outbound,
    /// The holder's confirmed email addresses, lower-cased.
    pub emails: &'a [String],
    pub now: i64,
}

impl Verifier<'_> {
    pub async fn verify(&self, source: Source) -> Report {
        let mut report = Report::default();
        let text = match source {
            Source::File(bytes) => match file_text(&bytes) {
                Ok(text) => text,
                Err(message) => {
                    report.check("Readable", false, message);
                    return report;
                }
            },
            Source::Url(url) | Source::Stored(url) => url.trim().to_owned(),
        };
        report.original = text.clone();
        if looks_like_jwt(&text) {
            report.version = "3.0".into();
            v3::verify(self, &mut report, &text).await;
        } else if text.starts_with('{') {
            report.version = "2.0".into();
            match serde_json::from_str::<Value>(&text) {
                Ok(doc) if is_ob3_json(&doc) => {
                    report.check("Supported format", false, "Open Badges 3.0 credentials are accepted as VC-JWT only.");
                }
                Ok(doc) => v2::verify(self, &mut report, doc).await,
                Err(_) => {
                    report.check("Readable", false, "The file is not valid JSON.");
                }
            }
        } else if text.starts_with("https://") || text.starts_with("http://") {
            self.verify_url(&mut report, &text).await;
        } else {
            report.check("Readable", false, "This is not an Open Badges image, JSON file, JWT or address.");
        }
        report
    }

    /// A URL: a hosted 2.0 assertion (JSON) or a 3.0 credential served as a JWT.
    async fn verify_url(&self, report: &mut Report, url: &str) {
        match self.outbound.get(url, &[]).await {
            Ok(body) => {
                let text = String::from_utf8_lossy(&body.bytes).trim().to_owned();
                if looks_like_jwt(&text) {
                    report.version = "3.0".into();
                    report.original = text.clone();
                    v3::verify(self, report, &text).await;
                } else {
                    report.version = "2.0".into();
                    match serde_json::from_str::<Value>(&text) {
                        Ok(doc) => v2::verify(self, report, doc).await,
                        Err(_) => {
                            report.check("Readable", false, "The address does not serve an Open Badges document.");
                        }
                    }
                }
            }
            Err(FetchError::Status { code: 410 }) => {
                report.version = "2.0".into();
                report.revoked = true;
                report.check("Not revoked", false, "The issuer says this badge was revoked (410 Gone).");
            }
            Err(err) => {
                report.check("Reachable", false, err.to_string());
            }
        }
    }

    /// GETs a JSON document, noting a failure in the report.
    async fn fetch_json(&self, report: &mut Report, what: &str, url: &str) -> Option<Value> {
        match self.outbound.get_json(url, &[]).await {
            Ok(doc) => Some(doc),
            Err(err) => {
                report.check(what, false, err.to_string());
                None
            }
        }
    }

    /// Whether a hashed or plain identity names one of the holder's addresses.
    fn recipient_matches(&self, identity: &str, hashed: bool, salt: &str) -> bool {
        self.emails.iter().any(|email| {
            if hashed {
                identity.eq_ignore_ascii_case(&hashed_identity(email, salt))
            } else {
                identity.trim_start_matches("mailto:").eq_ignore_ascii_case(email)
            }
        })
    }
}

/// The text inside an upload: a baked image's document, or the file itself as text.
fn file_text(bytes: &[u8]) -> Result<String, String> {
    match bake::unbake(bytes) {
        Ok((Version::V2 | Version::V3, text)) => Ok(text),
        Err(bake::BakeError::NotAnImage) => match std::str::from_utf8(bytes) {
            Ok(text) if !text.trim().is_empty() => Ok(text.trim().trim_start_matches('\u{feff}').to_owned()),
            _ => Err("Upload a baked PNG or SVG badge, or a JSON file.".into()),
        },
        Err(err) => Err(err.to_string()),
    }
}

fn looks_like_jwt(text: &str) -> bool {
    text.starts_with("ey") && text.split('.').count() == 3 && !text.contains(char::is_whitespace)
}

fn is_ob3_json(doc: &Value) -> bool {
    let types = doc.get("type").map(|t| t.to_string()).unwrap_or_default();
    types.contains("OpenBadgeCredential") || types.contains("AchievementCredential")
}

/// An RFC 3339 date as unix seconds.
fn parse_date(value: &Value) -> Option<i64> {
    time::OffsetDateTime::parse(value.as_str()?, &Rfc3339).ok().map(time::OffsetDateTime::unix_timestamp)
}

/// The `id` of a value that is either an IRI or an object with an `id`.
fn id_of(value: &Value) -> Option<&str> {
    value.as_str().or_else(|| value.get("id").and_then(Value::as_str))
}

fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0))))
}

/// The Ed25519 key named `kid` (or the only one) in a JWKS.
fn ed25519_from_jwks(jwks: &Value, kid: Option<&str>) -> Option<[u8; 32]> {
    let keys = jwks.get("keys")?.as_array()?;
    keys.iter().filter_map(ob3::jwk_public_key).find(|(id, _)| kid.is_none_or(|k| k == id)).map(|(_, key)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_alone_is_expired_and_anything_else_is_invalid() {
        let mut report = Report::default();
        report.check("Signature", true, "");
        report.expired = true;
        report.check("Not expired", false, "");
        assert_eq!(report.status(), "expired");
        report.check("Recipient", false, "");
        assert_eq!(report.status(), "invalid");
        report.revoked = true;
        assert_eq!(report.status(), "revoked");
        assert_eq!(Report::default().status(), "invalid", "no checks is not valid");
    }

    #[test]
    fn only_compact_jwts_are_taken_as_credentials() {
        assert!(looks_like_jwt("eyJhbGciOiJFZERTQSJ9.eyJ9.c2ln"));
        assert!(!looks_like_jwt("{\"a\": 1}"));
        assert!(!looks_like_jwt("eyJ.two"));
    }
}
