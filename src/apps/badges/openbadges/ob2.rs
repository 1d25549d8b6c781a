//! Open Badges 2.0, hosted verification: the Issuer profile, BadgeClass and Assertion documents
//! at stable URLs, and the issuer's revocation list. The recipient is a salted SHA-256 of the
//! lower-cased email, so the address never appears in a public document. A revoked assertion is
//! answered with `revoked: true` (and 410 by the page that serves it).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Issuer, iso8601};
use crate::apps::badges::model::{Award, BadgeClass};
use crate::kernel::security::token::hex;

pub const CONTEXT: &str = "https://w3id.org/openbadges/v2";

impl Issuer {
    pub fn profile_url(&self) -> String {
        format!("{}/badges/ob2/issuer", self.base_url)
    }
    pub fn revocations_url(&self) -> String {
        format!("{}/badges/ob2/revocations", self.base_url)
    }
    pub fn class_url(&self, badge: &BadgeClass) -> String {
        format!("{}/badges/ob2/classes/{}", self.base_url, badge.id)
    }
    pub fn assertion_url(&self, award: &Award) -> String {
        format!("{}/badges/ob2/assertions/{}", self.base_url, award.id)
    }
}

/// `sha256$<hex>` of the lower-cased email followed by the salt (Open Badges 2.0 §IdentityObject).
pub fn hashed_identity(email: &str, salt: &str) -> String {
    format!("sha256${}", hex(&Sha256::digest(format!("{}{salt}", email.to_lowercase()).as_bytes())))
}

pub fn issuer_profile(issuer: &Issuer) -> Value {
    let mut profile = json!({
        "@context": CONTEXT,
        "type": "Issuer",
        "id": issuer.profile_url(),
        "name": issuer.name,
        "url": issuer.base_url,
        "revocationList": issuer.revocations_url(),
    });
    if let Some(email) = &issuer.email {
        profile["email"] = json!(email);
    }
    profile
}

pub fn badge_class(issuer: &Issuer, badge: &BadgeClass) -> Value {
    json!({
        "@context": CONTEXT,
        "type": "BadgeClass",
        "id": issuer.class_url(badge),
        "name": badge.name,
        "description": badge.description,
        "image": badge.image_absolute(&issuer.base_url),
        "criteria": {"narrative": badge.criteria},
        "issuer": issuer.profile_url(),
    })
}

pub fn assertion(issuer: &Issuer, award: &Award, badge: &BadgeClass) -> Value {
    if award.revoked_at.is_some() {
        return json!({
            "@context": CONTEXT,
            "type": "Assertion",
            "id": issuer.assertion_url(award),
            "revoked": true,
            "revocationReason": award.revocation_reason,
        });
    }
    let mut doc = json!({
        "@context": CONTEXT,
        "type": "Assertion",
        "id": issuer.assertion_url(award),
        "recipient": {"type": "email", "hashed": true, "salt": award.salt, "identity": hashed_identity(&award.recipient_email, &award.salt)},
        "badge": issuer.class_url(badge),
        "verification": {"type": "HostedBadge"},
        "issuedOn": iso8601(award.issued_on),
        "image": format!("{}/badges/awards/{}/baked.png", issuer.base_url, award.id),
    });
    if let Some(expires) = award.expires_at {
        doc["expires"] = json!(iso8601(expires));
    }
    let mut evidence = serde_json::Map::new();
    if !award.evidence_url.is_empty() {
        evidence.insert("id".into(), json!(award.evidence_url));
    }
    if !award.evidence_text.is_empty() {
        evidence.insert("narrative".into(), json!(award.evidence_text));
    }
    if !evidence.is_empty() {
        doc["evidence"] = Value::Object(evidence);
    }
    doc
}

/// The issuer's revocation list: every revoked assertion with its reason.
pub fn revocation_list(issuer: &Issuer, revoked: &[(String, String)]) -> Value {
    let entries: Vec<Value> = revoked
        .iter()
        .map(|(id, reason)| json!({"id": format!("{}/badges/ob2/assertions/{id}", issuer.base_url), "revocationReason": reason}))
        .collect();
    json!({
        "@context": CONTEXT,
        "type": "RevocationList",
        "id": issuer.revocations_url(),
        "issuer": issuer.profile_url(),
        "revokedAssertions": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_hash_is_salted_and_ignores_the_case_of_the_address() {
        let one = hashed_identity("Zoë@Example.com", "🧂salt");
        assert_eq!(one, hashed_identity("zoë@example.com", "🧂salt"));
        assert_ne!(one, hashed_identity("zoë@example.com", "other"));
        assert!(one.starts_with("sha256$") && one.len() == 7 + 64);
    }
}
