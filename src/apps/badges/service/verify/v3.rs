//! Open Badges 3.0 VC-JWT verification (Ed25519).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

use super::{Report, Verifier, ed25519_from_jwks, id_of, parse_date, v2::check_expiry};
use crate::apps::badges::openbadges::ob3;

fn decode_part(part: Option<&str>) -> Option<Value> {
    serde_json::from_slice(&B64.decode(part?).ok()?).ok()
}

pub async fn verify(v: &Verifier<'_>, report: &mut Report, jwt: &str) {
    let (Some(header), Some(unverified)) = (decode_part(jwt.split('.').next()), decode_part(jwt.split('.').nth(1)))
    else {
        report.check("Readable", false, "The credential is not a readable JWT.");
        return;
    };
    let issuer_id =
        unverified.get("iss").and_then(Value::as_str).or_else(|| id_of(&unverified["issuer"])).unwrap_or("").to_owned();
    if !report.check(
        "Algorithm",
        header["alg"] == "EdDSA",
        "Signed with Ed25519 (EdDSA); other algorithms are not accepted.",
    ) {
        return;
    }
    let Some(key) = issuer_key(v, report, &issuer_id, header["kid"].as_str()).await else { return };
    let Some(payload) = ob3::verify_jws(jwt, &key) else {
        report.check(
            "Signature",
            false,
            "The signature does not match the issuer's key: the credential was changed or not signed by its issuer.",
        );
        return;
    };
    report.check("Signature", true, "Signed by the issuer's published key.");
    let types = payload["type"].to_string();
    report.check(
        "Credential type",
        types.contains("OpenBadgeCredential") || types.contains("AchievementCredential"),
        "An OpenBadgeCredential.",
    );
    report.check(
        "Issuer",
        id_of(&payload["issuer"]) == Some(issuer_id.as_str()),
        "The signed issuer is the one whose key verified it.",
    );
    report.source_id = payload["id"].as_str().or(payload["jti"].as_str()).unwrap_or(jwt).chars().take(500).collect();
    let achievement = &payload["credentialSubject"]["achievement"];
    report.badge_name =
        achievement["name"].as_str().or(payload["name"].as_str()).unwrap_or("").chars().take(200).collect();
    report.issuer_name = payload["issuer"]["name"].as_str().unwrap_or(&issuer_id).chars().take(200).collect();
    report.image_url = id_of(&achievement["image"]).unwrap_or("").chars().take(2000).collect();
    report.issued_on = parse_date(&payload["validFrom"]).or(payload["nbf"].as_i64());
    report.expires_at = parse_date(&payload["validUntil"]).or(payload["exp"].as_i64());
    let started = report.issued_on.is_none_or(|from| from <= v.now + 300);
    report.check("Valid from", started, "Already valid.");
    check_expiry(v, report);
    check_recipient(v, report, &payload["credentialSubject"]);
    check_status(v, report, &payload["credentialStatus"], &key).await;
}

/// The issuer's key: its profile (at the issuer id) names a JWKS (`jwks_uri`); the token's kid
/// picks the key.
async fn issuer_key(v: &Verifier<'_>, report: &mut Report, issuer_id: &str, kid: Option<&str>) -> Option<[u8; 32]> {
    if !issuer_id.starts_with("http") {
        report.check("Issuer key", false, "Only issuers identified by an https address are supported.");
        return None;
    }
    let profile = v.fetch_json(report, "Issuer profile", issuer_id).await?;
    let Some(jwks_uri) = profile.get("jwks_uri").and_then(Value::as_str) else {
        report.check("Issuer key", false, "The issuer's profile publishes no keys (jwks_uri).");
        return None;
    };
    let jwks = v.fetch_json(report, "Issuer key", jwks_uri).await?;
    let key = ed25519_from_jwks(&jwks, kid);
    report.check("Issuer key", key.is_some(), "The issuer publishes the Ed25519 key the credential names.");
    key
}

fn check_recipient(v: &Verifier<'_>, report: &mut Report, subject: &Value) {
    let by_identifier = subject["identifier"].as_array().is_some_and(|ids| {
        ids.iter().any(|i| {
            let hashed = i["hashed"].as_bool().unwrap_or(false);
            v.recipient_matches(i["identityHash"].as_str().unwrap_or(""), hashed, i["salt"].as_str().unwrap_or(""))
        })
    });
    let by_id =
        subject["id"].as_str().is_some_and(|id| id.starts_with("mailto:") && v.recipient_matches(id, false, ""));
    let ok = by_identifier || by_id;
    report.check(
        "Recipient",
        ok,
        if ok {
            "Awarded to one of your confirmed addresses."
        } else {
            "Awarded to an address that is not one of your confirmed addresses."
        },
    );
}

/// The revocation bit in the issuer's signed Bitstring Status List.
async fn check_status(v: &Verifier<'_>, report: &mut Report, status: &Value, key: &[u8; 32]) {
    let (Some(list_url), Some(index)) = (
        status["statusListCredential"].as_str(),
        status["statusListIndex"].as_str().and_then(|i| i.parse::<usize>().ok()),
    ) else {
        report.check("Not revoked", true, "The credential has no status list.");
        return;
    };
    let list = match v.outbound.get(list_url, &[]).await {
        Ok(body) => String::from_utf8_lossy(&body.bytes).trim().to_owned(),
        Err(err) => {
            report.check("Not revoked", false, format!("The status list could not be read: {err}"));
            return;
        }
    };
    let Some(list) = ob3::verify_jws(&list, key) else {
        report.check("Not revoked", false, "The status list is not signed by the issuer.");
        return;
    };
    match list["credentialSubject"]["encodedList"].as_str().and_then(|e| ob3::status_bit(e, index)) {
        Some(revoked) => {
            report.revoked |= revoked;
            report.check(
                "Not revoked",
                !revoked,
                if revoked {
                    "Revoked in the issuer's status list."
                } else {
                    "Not revoked in the issuer's status list."
                },
            );
        }
        None => {
            report.check("Not revoked", false, "The status list could not be read.");
        }
    }
}
