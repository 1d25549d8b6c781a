//! Open Badges 2.0 export checked by the 1EdTech validator (badgecheck, offline): hosted
//! assertions and baked PNG and SVG images pass for their recipient and fail for anyone else;
//! a revoked award answers 410 with `revoked: true` and is on the revocation list (checked here:
//! badgecheck 1.2.0 reports revoked assertions as valid).

use serde_json::Value;

use super::{award, award_id_of, design_badge};
use crate::support::validators::{badgecheck, run_badgecheck};
use crate::support::{Browser, TempDir, TestApp};

async fn awarded(app: &TestApp) -> (Browser, String) {
    let (_, staff) = app.staff("ada").await;
    let (_, zoe) = app.logged_in("zoe").await;
    zoe.patch_json("/api/profile/", &serde_json::json!({"first-name": "Zoë 🦀"})).await;
    let badge = design_badge(&staff, "Rust 🦀 Ünïcode", "rust", "365").await;
    award(&staff, &badge, "zoe").await;
    let id = award_id_of(app, "zoe").await;
    (staff, id)
}

fn assert_valid(report: &Value) {
    assert_eq!(report["report"]["valid"], true, "{report:#}");
    assert_eq!(report["report"]["errorCount"], 0, "{report:#}");
}

#[tokio::test]
async fn a_hosted_assertion_passes_the_validator_for_its_recipient_only() {
    let Some(python) = badgecheck() else { return };
    let app = TestApp::spawn().await;
    let (_, id) = awarded(&app).await;
    let url = app.url(&format!("/badges/ob2/assertions/{id}"));

    let report = run_badgecheck(&python, &url, Some("zoe@example.com")).await;

    assert_valid(&report);
    let wrong = run_badgecheck(&python, &url, Some("mallory@example.com")).await;
    assert_eq!(wrong["report"]["valid"], false, "another address does not match the hashed recipient");
}

#[tokio::test]
async fn baked_png_and_svg_images_pass_the_validator() {
    let Some(python) = badgecheck() else { return };
    let app = TestApp::spawn().await;
    let (_, id) = awarded(&app).await;
    let dir = TempDir::new("baked");

    for kind in ["png", "svg"] {
        let res = app.browser().get(&format!("/badges/awards/{id}/baked.{kind}")).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
        let file = dir.0.join(format!("badge 🏅.{kind}"));
        std::fs::write(&file, res.bytes().await.unwrap()).unwrap();

        let report = run_badgecheck(&python, &file.display().to_string(), Some("zoe@example.com")).await;

        assert_valid(&report);
    }
}

#[tokio::test]
async fn the_hosted_documents_link_up_and_never_show_the_address() {
    let app = TestApp::spawn().await;
    let (_, id) = awarded(&app).await;
    let browser = app.browser();

    let res = browser.get(&format!("/badges/ob2/assertions/{id}")).await;
    assert_eq!(res.headers()["content-type"], "application/ld+json");
    let assertion: Value = res.json().await.unwrap();
    assert_eq!(assertion["@context"], "https://w3id.org/openbadges/v2");
    assert_eq!(assertion["recipient"]["hashed"], true);
    assert!(!assertion.to_string().contains("zoe@example.com"));
    assert!(assertion["expires"].as_str().unwrap().ends_with('Z'));
    let class: Value = browser.get(&crate::badges::openbadges::path(&assertion["badge"])).await.json().await.unwrap();
    assert_eq!(class["name"], "Rust 🦀 Ünïcode");
    let issuer: Value = browser.get(&crate::badges::openbadges::path(&class["issuer"])).await.json().await.unwrap();
    assert_eq!(issuer["type"], "Issuer");
    assert!(issuer["revocationList"].as_str().unwrap().ends_with("/badges/ob2/revocations"));
}

/// The path of an absolute URL in a document.
pub fn path(url: &Value) -> String {
    let url = url.as_str().unwrap();
    let rest = url.split_once("://").unwrap().1;
    rest[rest.find('/').unwrap()..].to_owned()
}

#[tokio::test]
async fn a_revoked_award_answers_gone_and_is_on_the_revocation_list() {
    let app = TestApp::spawn().await;
    let (staff, id) = awarded(&app).await;
    staff.submit(&format!("/admin/badges/awards/{id}/revoke/"), &[("reason", "Copied the exam 📝")]).await;
    let browser = app.browser();

    let res = browser.get(&format!("/badges/ob2/assertions/{id}")).await;

    assert_eq!(res.status(), 410);
    let gone: Value = res.json().await.unwrap();
    assert_eq!(gone["revoked"], true);
    assert_eq!(gone["revocationReason"], "Copied the exam 📝");
    let list = browser.get("/badges/ob2/revocations").await.text().await.unwrap();
    let list: Value = serde_json::from_str(&list).unwrap_or_else(|_| panic!("{list}"));
    assert_eq!(list["revokedAssertions"][0]["id"], app.url(&format!("/badges/ob2/assertions/{id}")));
    assert_eq!(browser.get(&format!("/badges/awards/{id}/baked.png")).await.status(), 404, "not handed out again");
}
