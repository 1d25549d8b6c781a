//! Open Badges 2.0 hosted verification.

use serde_json::Value;

use super::{Report, Verifier, host_of, id_of, parse_date};
use crate::kernel::outbound::FetchError;

pub async fn verify(v: &Verifier<'_>, report: &mut Report, given: Value) {
    let Some(id) = id_of(&given).filter(|id| id.starts_with("http")).map(str::to_owned) else {
        report.check(
            "Hosted",
            false,
            "The assertion has no address to verify it at (signed 2.0 badges are not supported).",
        );
        return;
    };
    report.source_id = id.clone();
    report.original = id.clone();
    let Some(assertion) = hosted_copy(v, report, &id).await else { return };
    let Some(badge) = embedded_or_fetched(v, report, "Badge class", &assertion["badge"]).await else { return };
    let Some(issuer) = embedded_or_fetched(v, report, "Issuer", &badge["issuer"]).await else { return };
    summary(report, &assertion, &badge, &issuer);
    let issuer_id = id_of(&issuer).unwrap_or("");
    report.check(
        "Issuer's origin",
        host_of(&id).is_some() && host_of(&id) == host_of(issuer_id),
        "The assertion is hosted where its issuer is.",
    );
    let recipient = &assertion["recipient"];
    let hashed = recipient["hashed"].as_bool().unwrap_or(false);
    let matches = v.recipient_matches(
        recipient["identity"].as_str().unwrap_or(""),
        hashed,
        recipient["salt"].as_str().unwrap_or(""),
    );
    report.check(
        "Recipient",
        matches,
        if matches {
            "Awarded to one of your confirmed addresses."
        } else {
            "Awarded to an address that is not one of your confirmed addresses."
        },
    );
    check_expiry(v, report);
    check_revocation_list(v, report, &issuer, &id).await;
}

/// The assertion as its issuer serves it now (what counts, whatever the file said).
async fn hosted_copy(v: &Verifier<'_>, report: &mut Report, id: &str) -> Option<Value> {
    let assertion = match v.outbound.get_json(id, &[]).await {
        Ok(doc) => doc,
        Err(FetchError::Status { code: 410 }) => {
            report.revoked = true;
            report.check("Not revoked", false, "The issuer says this badge was revoked (410 Gone).");
            return None;
        }
        Err(err) => {
            report.check("Hosted assertion", false, err.to_string());
            return None;
        }
    };
    if assertion.get("revoked").and_then(Value::as_bool) == Some(true) {
        report.revoked = true;
        report.check(
            "Not revoked",
            false,
            assertion["revocationReason"].as_str().unwrap_or("Revoked by its issuer.").to_owned(),
        );
        return None;
    }
    report
        .check(
            "Hosted assertion",
            id_of(&assertion) == Some(id),
            "The issuer serves this assertion at its own address.",
        )
        .then_some(assertion)
}

async fn check_revocation_list(v: &Verifier<'_>, report: &mut Report, issuer: &Value, id: &str) {
    let Some(list) = issuer.get("revocationList").and_then(Value::as_str) else {
        report.check("Not revoked", true, "The hosted assertion is live and not marked revoked.");
        return;
    };
    if let Some(list) = v.fetch_json(report, "Revocation list", list).await {
        let revoked = list["revokedAssertions"].as_array().is_some_and(|all| all.iter().any(|r| id_of(r) == Some(id)));
        report.revoked |= revoked;
        report.check(
            "Not revoked",
            !revoked,
            if revoked { "On the issuer's revocation list." } else { "Not on the issuer's revocation list." },
        );
    }
}

/// A linked document given inline or as an address.
async fn embedded_or_fetched(v: &Verifier<'_>, report: &mut Report, what: &str, value: &Value) -> Option<Value> {
    match value {
        Value::String(url) => v.fetch_json(report, what, url).await,
        Value::Object(_) => Some(value.clone()),
        _ => {
            report.check(what, false, "Missing.");
            None
        }
    }
}

fn summary(report: &mut Report, assertion: &Value, badge: &Value, issuer: &Value) {
    report.badge_name = badge["name"].as_str().unwrap_or("").chars().take(200).collect();
    report.issuer_name = issuer["name"].as_str().unwrap_or("").chars().take(200).collect();
    report.image_url = id_of(&badge["image"]).unwrap_or("").chars().take(2000).collect();
    report.issued_on = parse_date(&assertion["issuedOn"]);
    report.expires_at = parse_date(&assertion["expires"]);
}

pub fn check_expiry(v: &Verifier<'_>, report: &mut Report) {
    let expired = report.expires_at.is_some_and(|at| at <= v.now);
    report.expired = expired;
    report.check("Not expired", !expired, if expired { "Past its expiry date." } else { "Not past an expiry date." });
}
