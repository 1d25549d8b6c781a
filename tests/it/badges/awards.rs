//! Awards: one or many people from a pasted list with a preview and a report, revocation with a
//! reason, the public verification page (no login, Open Graph, revoked and expired said plainly),
//! my badges, share links and the REST API.

use serde_json::json;

use super::{award, award_id_of, design_badge};
use crate::support::{Browser, TestApp};

async fn named(app: &TestApp, username: &str, first: &str, last: &str) -> Browser {
    let (_, browser) = app.logged_in(username).await;
    let res = browser.patch_json("/api/profile/", &json!({"first-name": first, "last-name": last})).await;
    assert_eq!(res.status(), 200);
    browser
}

#[tokio::test]
async fn staff_award_many_people_from_a_list_with_a_preview_and_a_report() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    named(&app, "zoe", "Zoë 🦀", "Ōtani").await;
    named(&app, "bob", "Bob", "🎈").await;
    let badge = design_badge(&staff, "Rust 🦀", "rust", "").await;
    let list = "email\nzoe@example.com\nbob, nobody@example.com";

    let res =
        staff.submit(&format!("/admin/badges/{badge}/award/"), &[("recipients", list), ("action", "preview")]).await;
    let preview = res.text().await.unwrap();
    assert_eq!(preview.matches("will be awarded").count(), 2);
    assert!(preview.contains("No account with this email or username."));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM badge_awards").await, 0, "a preview awards nothing");

    let report = award(&staff, &badge, list).await;

    assert!(report.contains("Awarded to 2 people."), "{report}");
    assert!(report.contains("nobody@example.com: No account with this email or username."));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM badge_awards").await, 2);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM audit_events WHERE action = 'badge.awarded'").await, 2);
    let again = award(&staff, &badge, "zoe").await;
    assert!(again.contains("zoe: Already holds this badge."));
}

#[tokio::test]
async fn the_public_page_needs_no_login_and_says_revoked_plainly() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    named(&app, "zoe", "Zoë 🦀", "Ōtani").await;
    let badge = design_badge(&staff, "Rust 🦀", "rust", "").await;
    award(&staff, &badge, "zoe").await;
    let id = award_id_of(&app, "zoe").await;
    let visitor = app.browser();

    let (status, page) = visitor.get_text(&format!("/badges/awards/{id}/")).await;
    assert_eq!(status, 200);
    assert!(page.contains("<meta property=\"og:title\" content=\"Rust 🦀 · Zoë 🦀 Ōtani\">"), "{page}");
    assert!(
        page.contains(&format!("<meta property=\"og:url\" content=\"{}\">", app.url(&format!("/badges/awards/{id}/"))))
    );
    assert!(page.contains("Verified:") && page.contains("Shipped the 🚀 launch."));
    assert!(!page.contains("zoe@example.com"), "the holder's address is not shown");

    let res = staff.submit(&format!("/admin/badges/awards/{id}/revoke/"), &[("reason", "Awarded by mistake 🙈")]).await;
    assert_eq!(res.status(), 303);
    let (_, page) = visitor.get_text(&format!("/badges/awards/{id}/")).await;
    assert!(page.contains("<strong>Revoked.</strong>") && page.contains("Awarded by mistake 🙈"));
    assert!(!page.contains("Verified:"));
    let (_, api) = visitor.get_json(&format!("/api/badges/awards/{id}/verify/")).await;
    assert_eq!(api["status"], "revoked");
    assert_eq!(api["revocation_reason"], "Awarded by mistake 🙈");
}

#[tokio::test]
async fn an_award_past_its_validity_shows_as_expired() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    app.logged_in("zoe").await;
    let badge = design_badge(&staff, "First aid ⛑️", "first-aid", "365").await;
    award(&staff, &badge, "zoe").await;
    let id = award_id_of(&app, "zoe").await;

    app.clock().advance(366 * 86_400);

    let (_, page) = app.browser().get_text(&format!("/badges/awards/{id}/")).await;
    assert!(page.contains("<strong>Expired.</strong>"));
    let (_, api) = app.browser().get_json(&format!("/api/badges/awards/{id}/verify/")).await;
    assert_eq!(api["status"], "expired");
}

#[tokio::test]
async fn revoking_needs_a_reason() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    app.logged_in("zoe").await;
    let badge = design_badge(&staff, "Rust 🦀", "rust", "").await;
    award(&staff, &badge, "zoe").await;
    let id = award_id_of(&app, "zoe").await;

    staff.submit(&format!("/admin/badges/awards/{id}/revoke/"), &[("reason", "  ")]).await;

    let (_, api) = app.browser().get_json(&format!("/api/badges/awards/{id}/verify/")).await;
    assert_eq!(api["status"], "valid");
}

#[tokio::test]
async fn my_badges_shows_what_i_hold_and_what_i_could_earn_with_share_links_for_me_only() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    let zoe = named(&app, "zoe", "Zoë 🦀", "").await;
    let held = design_badge(&staff, "Rust 🦀", "rust", "").await;
    design_badge(&staff, "Go 🐹", "go", "").await;
    award(&staff, &held, "zoe").await;
    let id = award_id_of(&app, "zoe").await;

    let (status, mine) = zoe.get_text("/badges/").await;
    assert_eq!(status, 200);
    let earn = mine.find("Badges you could earn").unwrap();
    assert!(mine[..earn].contains("Rust 🦀") && mine[earn..].contains("Go 🐹") && !mine[earn..].contains("Rust 🦀"));

    let (_, own) = zoe.get_text(&format!("/badges/awards/{id}/")).await;
    assert!(
        own.contains("https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&#38;name=Rust+%F0%9F%A6%80"),
        "{own}"
    );
    assert!(own.contains(&format!("certId={id}")));
    let (_, other) = app.browser().get_text(&format!("/badges/awards/{id}/")).await;
    assert!(!other.contains("linkedin.com"));
    assert_eq!(app.browser().get("/badges/").await.status(), 303, "my badges needs a login");
}

#[tokio::test]
async fn the_rest_api_lists_my_awards_and_verifies_one() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    let zoe = named(&app, "zoe", "Zoë 🦀", "").await;
    let badge = design_badge(&staff, "Rust 🦀", "rust", "30").await;
    award(&staff, &badge, "zoe").await;

    let (status, mine) = zoe.get_json("/api/badges/awards/").await;
    assert_eq!(status, 200);
    assert_eq!(mine[0]["badge"]["name"], "Rust 🦀");
    assert_eq!(mine[0]["status"], "valid");
    assert_eq!(mine[0]["recipient_name"], "Zoë 🦀");
    assert!(mine[0]["expires_at"].as_i64().unwrap() > mine[0]["issued_on"].as_i64().unwrap());
    assert_eq!(app.browser().get_json("/api/badges/awards/").await.0, 401);
    assert_eq!(app.browser().get_json(&format!("/api/badges/classes/{badge}/")).await.1["slug"], "rust");

    for bad in [
        "/api/badges/awards/nope/verify/",
        "/api/badges/classes/%F0%9F%90%8D/",
        "/badges/awards/' OR 1=1 --/",
        "/badges/images/x.png",
    ] {
        assert_eq!(app.browser().get(bad).await.status(), 404, "{bad}");
    }
}

#[tokio::test]
async fn awards_are_in_the_data_export_and_go_with_the_account() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    let zoe = named(&app, "zoe", "Zoë 🦀", "").await;
    let badge = design_badge(&staff, "Rust 🦀", "rust", "").await;
    award(&staff, &badge, "zoe").await;
    let id = award_id_of(&app, "zoe").await;

    let (_, export) = zoe.get_json("/api/export/").await;
    assert_eq!(export["badges"]["awards"][0]["badge"], "Rust 🦀");

    let (status, _) = zoe.json("/api/delete-account/", json!({"password": crate::support::PASSWORD})).await;
    assert_eq!(status, 200);
    assert_eq!(app.browser().get(&format!("/badges/awards/{id}/")).await.status(), 404);
}
