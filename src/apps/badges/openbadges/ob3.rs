//! Open Badges 3.0: each award as an OpenBadgeCredential (W3C VC 2.0), secured as a VC-JWT
//! signed with Ed25519 (`alg: EdDSA`), the payload being the credential itself with `iss`,
//! `jti`, `nbf` (and `exp`) as OB 3.0 §8.2.6 asks. The issuer's public key is published as a
//! JWKS; revocation is a Bitstring Status List credential signed the same way. The signing
//! key is derived from SECRET_KEY (HMAC with a fixed label), so it is never stored or printed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Issuer, iso8601, ob2::hashed_identity};
use crate::apps::badges::model::{Award, BadgeClass};
use crate::kernel::security::token::hmac_sha256;

const CONTEXTS: [&str; 2] =
    ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"];
/// 16 KiB of bits: the smallest list the Bitstring Status List spec allows (herd privacy).
pub const STATUS_LIST_BITS: usize = 16 * 1024 * 8;

/// The issuer's Ed25519 key. `Debug` never shows the secret half.
pub struct IssuerKey(SigningKey);

impl std::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IssuerKey({})", self.kid())
    }
}

impl IssuerKey {
    pub fn derive(secret_key: &str) -> Self {
        Self(SigningKey::from_bytes(&hmac_sha256(secret_key, b"shoestring open badges 3.0 issuer key (Ed25519 seed)")))
    }

    fn x(&self) -> String {
        B64.encode(self.0.verifying_key().as_bytes())
    }

    /// The RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> String {
        let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, self.x());
        B64.encode(Sha256::digest(canonical.as_bytes()))
    }

    pub fn jwks(&self) -> Value {
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": self.x(), "kid": self.kid(), "alg": "EdDSA", "use": "sig"}]})
    }

    /// A compact JWS of `payload` (header: EdDSA, this key's kid).
    pub fn sign(&self, payload: &Value) -> String {
        let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": self.kid()});
        let signing_input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(payload.to_string()));
        let signature = self.0.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(signature.to_bytes()))
    }
}

impl Issuer {
    pub fn ob3_issuer_url(&self) -> String {
        format!("{}/badges/ob3/issuer", self.base_url)
    }
    pub fn jwks_url(&self) -> String {
        format!("{}/badges/ob3/jwks", self.base_url)
    }
    pub fn status_list_url(&self) -> String {
        format!("{}/badges/ob3/status", self.base_url)
    }
    pub fn credential_url(&self, award: &Award) -> String {
        format!("{}/badges/ob3/credentials/{}", self.base_url, award.id)
    }
}

/// The issuer's Profile, with where its keys are.
pub fn issuer_profile(issuer: &Issuer) -> Value {
    json!({
        "@context": CONTEXTS,
        "id": issuer.ob3_issuer_url(),
        "type": ["Profile"],
        "name": issuer.name,
        "url": issuer.base_url,
        "jwks_uri": issuer.jwks_url(),
    })
}

fn achievement(issuer: &Issuer, badge: &BadgeClass) -> Value {
    json!({
        "id": issuer.class_url(badge),
        "type": ["Achievement"],
        "name": badge.name,
        "description": badge.description,
        "criteria": {"narrative": badge.criteria},
        "image": {"id": badge.image_absolute(&issuer.base_url), "type": "Image"},
    })
}

/// The OpenBadgeCredential of one award (unsigned).
pub fn credential(issuer: &Issuer, award: &Award, badge: &BadgeClass) -> Value {
    let mut vc = json!({
        "@context": CONTEXTS,
        "id": issuer.credential_url(award),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer.ob3_issuer_url(), "type": ["Profile"], "name": issuer.name, "url": issuer.base_url},
        "validFrom": iso8601(award.issued_on),
        "name": badge.name,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{"type": "IdentityObject", "identityHash": hashed_identity(&award.recipient_email, &award.salt),
                            "identityType": "emailAddress", "hashed": true, "salt": award.salt}],
            "achievement": achievement(issuer, badge),
        },
        "credentialStatus": {
            "id": format!("{}#{}", issuer.status_list_url(), award.status_index),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": award.status_index.to_string(),
            "statusListCredential": issuer.status_list_url(),
        },
    });
    if let Some(expires) = award.expires_at {
        vc["validUntil"] = json!(iso8601(expires));
    }
    if !award.evidence_url.is_empty() || !award.evidence_text.is_empty() {
        let mut evidence = json!({"type": ["Evidence"]});
        if !award.evidence_url.is_empty() {
            evidence["id"] = json!(award.evidence_url);
        }
        if !award.evidence_text.is_empty() {
            evidence["narrative"] = json!(award.evidence_text);
        }
        vc["evidence"] = json!([evidence]);
    }
    vc
}

/// The credential as a VC-JWT: the payload is the credential plus its registered claims.
pub fn credential_jwt(key: &IssuerKey, issuer: &Issuer, award: &Award, badge: &BadgeClass) -> String {
    let mut payload = credential(issuer, award, badge);
    payload["iss"] = json!(issuer.ob3_issuer_url());
    payload["jti"] = json!(issuer.credential_url(award));
    payload["nbf"] = json!(award.issued_on);
    payload["iat"] = json!(award.issued_on);
    if let Some(expires) = award.expires_at {
        payload["exp"] = json!(expires);
    }
    key.sign(&payload)
}

/// The revocation status list as a signed BitstringStatusListCredential: bit `i` (first bit
/// most significant) is set when the award with status index `i` is revoked.
pub fn status_list_jwt(key: &IssuerKey, issuer: &Issuer, revoked: &[i64], now: i64) -> std::io::Result<String> {
    let mut bits = vec![0u8; STATUS_LIST_BITS / 8];
    for index in revoked.iter().filter_map(|i| usize::try_from(*i).ok()).filter(|i| *i < STATUS_LIST_BITS) {
        bits[index / 8] |= 0x80 >> (index % 8);
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gzip, &bits)?;
    let encoded = format!("u{}", B64.encode(gzip.finish()?));
    let url = issuer.status_list_url();
    let payload = json!({
        "@context": [CONTEXTS[0]],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.ob3_issuer_url(),
        "validFrom": iso8601(now),
        "credentialSubject": {"id": format!("{url}#list"), "type": "BitstringStatusList", "statusPurpose": "revocation", "encodedList": encoded},
        "iss": issuer.ob3_issuer_url(),
        "jti": url,
        "nbf": now,
        "iat": now,
    });
    Ok(key.sign(&payload))
}

/// Checks a compact EdDSA JWS against an Ed25519 public key; returns the payload.
pub fn verify_jws(token: &str, public_key: &[u8; 32]) -> Option<Value> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
    if header["alg"] != "EdDSA" {
        return None;
    }
    let signature = ed25519_dalek::Signature::from_slice(&B64.decode(signature).ok()?).ok()?;
    let key = VerifyingKey::from_bytes(public_key).ok()?;
    key.verify(format!("{}.{payload}", parts_header(token)?).as_bytes(), &signature).ok()?;
    serde_json::from_slice(&B64.decode(payload).ok()?).ok()
}

fn parts_header(token: &str) -> Option<&str> {
    token.split('.').next()
}

/// An Ed25519 public key from a JWK (`kty: OKP`, `crv: Ed25519`).
pub fn jwk_public_key(jwk: &Value) -> Option<(String, [u8; 32])> {
    if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
        return None;
    }
    let x = B64.decode(jwk["x"].as_str()?).ok()?;
    Some((jwk["kid"].as_str().unwrap_or("").to_owned(), x.try_into().ok()?))
}

/// Whether bit `index` is set in a multibase (`u`) base64url, gzip-compressed bitstring.
pub fn status_bit(encoded: &str, index: usize) -> Option<bool> {
    use std::io::Read;
    let compressed = B64.decode(encoded.strip_prefix('u')?).ok()?;
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..]).take(5 * 1024 * 1024).read_to_end(&mut bits).ok()?;
    Some(bits.get(index / 8)? & (0x80 >> (index % 8)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> Issuer {
        Issuer { base_url: "https://badges.example.com".into(), name: "Acme ☕".into(), email: None }
    }

    #[test]
    fn a_signed_token_verifies_with_the_published_key_and_fails_when_tampered() {
        let key = IssuerKey::derive("a secret 🔑 for tests");
        let (kid, public) = jwk_public_key(&key.jwks()["keys"][0]).unwrap();
        assert_eq!(kid, key.kid());
        let token = key.sign(&json!({"name": "Zoë 🦀"}));
        assert_eq!(verify_jws(&token, &public).unwrap()["name"], "Zoë 🦀");
        let (head, rest) = token.split_once('.').unwrap();
        let (_, signature) = rest.split_once('.').unwrap();
        let forged = format!("{head}.{}.{signature}", B64.encode(json!({"name": "Mallory 😈"}).to_string()));
        assert!(verify_jws(&forged, &public).is_none());
        let other = IssuerKey::derive("another secret");
        assert!(verify_jws(&token, &jwk_public_key(&other.jwks()["keys"][0]).unwrap().1).is_none());
    }

    #[test]
    fn the_key_never_prints_its_secret_half() {
        let key = IssuerKey::derive("a secret 🔑 for tests");
        let printed = format!("{key:?}");
        assert!(printed.starts_with("IssuerKey(") && !printed.contains(&B64.encode(key.0.to_bytes())));
    }

    proptest::proptest! {
        #[test]
        fn any_award_signs_into_a_credential_that_verifies_and_keeps_its_text(
            name in "\\PC{1,80}",
            evidence in "\\PC{0,120}",
            local in "[a-z0-9._-]{1,20}",
            index in 0i64..131_072,
        ) {
            let key = IssuerKey::derive("proptest 🔑");
            let award = Award {
                id: "5f1c8c0e-0000-4000-8000-000000000001".into(),
                badge_id: String::new(),
                recipient_id: 1,
                recipient_email: format!("{local}@example.com"),
                recipient_name: String::new(),
                salt: "s🧂".into(),
                issued_on: 1_780_000_000,
                expires_at: None,
                evidence_url: String::new(),
                evidence_text: evidence.clone(),
                issued_by_name: String::new(),
                revoked_at: None,
                revocation_reason: String::new(),
                status_index: index,
            };
            let badge = BadgeClass {
                id: "5f1c8c0e-0000-4000-8000-000000000002".into(),
                slug: "p".into(),
                name: name.clone(),
                description: String::new(),
                criteria: String::new(),
                image_key: None,
                image_url: None,
                valid_days: None,
                course_id: None,
            };
            let jwt = credential_jwt(&key, &issuer(), &award, &badge);
            let public = jwk_public_key(&key.jwks()["keys"][0]).unwrap().1;
            let payload = verify_jws(&jwt, &public).unwrap();
            proptest::prop_assert_eq!(payload["credentialSubject"]["achievement"]["name"].as_str(), Some(name.as_str()));
            let expected_index = index.to_string();
            proptest::prop_assert_eq!(payload["credentialStatus"]["statusListIndex"].as_str(), Some(expected_index.as_str()));
            let identity = payload["credentialSubject"]["identifier"][0]["identityHash"].as_str().unwrap().to_owned();
            proptest::prop_assert_eq!(identity, hashed_identity(&format!("{local}@example.com"), "s🧂"));
            if !evidence.is_empty() {
                proptest::prop_assert_eq!(payload["evidence"][0]["narrative"].as_str(), Some(evidence.as_str()));
            }
        }
    }

    #[test]
    fn the_status_list_sets_exactly_the_revoked_bits() {
        let key = IssuerKey::derive("s");
        let jwt = status_list_jwt(&key, &issuer(), &[0, 9, 131_071], 1_780_000_000).unwrap();
        let payload = verify_jws(&jwt, &jwk_public_key(&key.jwks()["keys"][0]).unwrap().1).unwrap();
        let encoded = payload["credentialSubject"]["encodedList"].as_str().unwrap();
        for (index, set) in [(0, true), (1, false), (8, false), (9, true), (131_071, true), (131_070, false)] {
            assert_eq!(status_bit(encoded, index), Some(set), "{index}");
        }
        assert_eq!(status_bit(encoded, STATUS_LIST_BITS), None);
    }
}
