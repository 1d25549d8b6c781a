//! Open Badges 3.0: each award as a VC-JWT signed with Ed25519, checked by an independent
//! implementation (openbadgeslib) with the key the app publishes: baked PNG and SVG verify for
//! their recipient; a tampered credential fails; a revoked one is reported revoked through the
//! status list.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

use super::{award, award_id_of, design_badge};
use crate::support::validators::{openbadgeslib, run_openbadgeslib};
use crate::support::{Browser, TempDir, TestApp};

async fn awarded(app: &TestApp) -> (Browser, String) {
    let (_, staff) = app.staff("ada").await;
    app.logged_in("zoe").await;
    let badge = design_badge(&staff, "Kotlin 🏝️", "kotlin", "365").await;
    award(&staff, &badge, "zoe").await;
    (staff, award_id_of(app, "zoe").await)
}

async fn download(app: &TestApp, dir: &TempDir, path: &str, name: &str) -> std::path::PathBuf {
    let res = app.browser().get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    let file = dir.0.join(name);
    std::fs::write(&file, res.bytes().await.unwrap()).unwrap();
    file
}

#[tokio::test]
async fn baked_credentials_verify_with_an_independent_implementation() {
    let Some(python) = openbadgeslib() else { return };
    let app = TestApp::spawn().await;
    let (_, id) = awarded(&app).await;
    let dir = TempDir::new("ob3");
    let jwks = app.url("/badges/ob3/jwks");

    for kind in ["png", "svg"] {
        let file =
            download(&app, &dir, &format!("/badges/awards/{id}/credential.{kind}"), &format!("credential 🏅.{kind}"))
                .await;

        let outcome = run_openbadgeslib(&python, &file, &jwks, Some("zoe@example.com")).await;

        assert_eq!(outcome["valid"], true, "{kind}: {outcome}");
        assert_eq!(outcome["recipient_matches"], true, "{kind}: {outcome}");
        let other = run_openbadgeslib(&python, &file, &jwks, Some("mallory@example.com")).await;
        assert_eq!(other["recipient_matches"], false);
    }
}

#[tokio::test]
async fn a_tampered_credential_fails_verification() {
    let Some(python) = openbadgeslib() else { return };
    let app = TestApp::spawn().await;
    let (_, id) = awarded(&app).await;
    let token = app.browser().get(&format!("/badges/ob3/credentials/{id}")).await.text().await.unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    payload["name"] = Value::from("Kotlin 🏝️ Grand Master");
    let forged = format!("{}.{}.{}", parts[0], B64.encode(payload.to_string()), parts[2]);
    let dir = TempDir::new("ob3-forged");
    let file = dir.0.join("forged.svg");
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:openbadges=\"http://openbadges.org\"><openbadges:credential verify=\"{forged}\"/></svg>"
    );
    std::fs::write(&file, svg).unwrap();

    let outcome = run_openbadgeslib(&python, &file, &app.url("/badges/ob3/jwks"), None).await;

    assert_eq!(outcome["valid"], false, "{outcome}");
    assert!(outcome["reason"].as_str().unwrap().contains("signature"), "{outcome}");
}

#[tokio::test]
async fn a_revoked_credential_is_reported_revoked_through_the_status_list() {
    let Some(python) = openbadgeslib() else { return };
    let app = TestApp::spawn().await;
    let (staff, id) = awarded(&app).await;
    let dir = TempDir::new("ob3-revoked");
    let file = download(&app, &dir, &format!("/badges/awards/{id}/credential.png"), "kept.png").await;

    staff.submit(&format!("/admin/badges/awards/{id}/revoke/"), &[("reason", "Left before finishing 🚪")]).await;
    let outcome = run_openbadgeslib(&python, &file, &app.url("/badges/ob3/jwks"), None).await;

    assert_eq!(outcome["valid"], false, "{outcome}");
    assert!(outcome["reason"].as_str().unwrap().contains("revocation"), "{outcome}");
}

#[tokio::test]
async fn the_credential_names_its_issuer_key_and_status_entry() {
    let app = TestApp::spawn().await;
    let (_, id) = awarded(&app).await;
    let browser = app.browser();

    let res = browser.get(&format!("/badges/ob3/credentials/{id}")).await;
    assert_eq!(res.headers()["content-type"], "application/vc+jwt");
    let token = res.text().await.unwrap();
    let header: Value = serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    let payload: Value = serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();

    assert_eq!(header["alg"], "EdDSA");
    let (_, jwks) = browser.get_json("/badges/ob3/jwks").await;
    assert_eq!(jwks["keys"][0]["kid"], header["kid"]);
    assert!(jwks["keys"][0].get("d").is_none(), "only the public half is published");
    assert_eq!(payload["type"][1], "OpenBadgeCredential");
    assert_eq!(payload["iss"], payload["issuer"]["id"]);
    assert_eq!(payload["credentialSubject"]["achievement"]["name"], "Kotlin 🏝️");
    assert_eq!(payload["credentialStatus"]["statusListCredential"], app.url("/badges/ob3/status"));
    assert!(!token.contains("zoe@example.com"));
}
