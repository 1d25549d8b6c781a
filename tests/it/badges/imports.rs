//! Importing badges earned elsewhere: a second app on loopback plays the other issuer. Baked
//! 2.0 and 3.0 images, a pasted address and JSON and JWT files import and show apart from ours;
//! tampered, expired, revoked, damaged and wrong-recipient badges are refused with their report;
//! the daily re-verification shows a later revocation.

use reqwest::multipart::{Form, Part};

use super::{award, award_id_of, design_badge};
use crate::support::{Browser, PASSWORD, TestApp};

/// The other issuer, with zoe@example.com holding its badge, and the id of that award.
async fn issuer_with_award(valid_days: &str) -> (TestApp, Browser, String) {
    let issuer = TestApp::spawn_with(|s| s.badge_issuer_name = "Elsewhere Academy 🎓".into()).await;
    let (_, staff) = issuer.staff("registrar").await;
    issuer.confirmed_user("zoe").await;
    let badge = design_badge(&staff, "Haskell λ 🧠", "haskell", valid_days).await;
    award(&staff, &badge, "zoe").await;
    let id = award_id_of(&issuer, "zoe").await;
    (issuer, staff, id)
}

/// This app, reaching the other issuer on loopback, with zoe signed in.
async fn home() -> (TestApp, Browser) {
    let app = TestApp::spawn_with(|s| s.outbound_allow_loopback = true).await;
    let (_, zoe) = app.logged_in("zoe").await;
    (app, zoe)
}

async fn bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let res = app.browser().get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    res.bytes().await.unwrap().to_vec()
}

async fn import(browser: &Browser, file: Option<(&str, Vec<u8>)>, url: &str) -> (u16, String) {
    let mut form = Form::new().text("csrf_token", browser.csrf_token().await).text("url", url.to_owned());
    if let Some((name, bytes)) = file {
        form = form.part("image", Part::bytes(bytes).file_name(name.to_owned()));
    }
    let res = browser.client.post(browser.url("/badges/import/")).multipart(form).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

#[tokio::test]
async fn baked_images_addresses_and_files_import_and_show_apart_from_ours() {
    let (issuer, _, id) = issuer_with_award("").await;
    let (app, zoe) = home().await;

    let (status, _) =
        import(&zoe, Some(("badge 🏅.png", bytes(&issuer, &format!("/badges/awards/{id}/baked.png")).await)), "").await;
    assert_eq!(status, 303, "a baked 2.0 PNG");
    let (status, page) =
        import(&zoe, Some(("badge.svg", bytes(&issuer, &format!("/badges/awards/{id}/baked.svg")).await)), "").await;
    assert_eq!(status, 400, "the same assertion again");
    assert!(page.contains("already imported"));
    let (status, _) = import(
        &zoe,
        Some(("credential.svg", bytes(&issuer, &format!("/badges/awards/{id}/credential.svg")).await)),
        "",
    )
    .await;
    assert_eq!(status, 303, "a baked 3.0 SVG");

    let (_, mine) = zoe.get_text("/badges/").await;
    let elsewhere = mine.find("Badges from elsewhere").unwrap();
    let to_earn = mine.find("Badges you could earn").unwrap();
    assert_eq!(mine[elsewhere..to_earn].matches("Haskell λ 🧠").count(), 2);
    assert!(mine[elsewhere..to_earn].contains("Elsewhere Academy 🎓"));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM badge_imports WHERE status = 'valid'").await, 2);
}

#[tokio::test]
async fn a_pasted_address_a_json_file_and_a_jwt_file_import() {
    let (issuer, staff, _) = issuer_with_award("").await;
    let second = design_badge(&staff, "Elm 🌳", "elm", "").await;
    award(&staff, &second, "zoe").await;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM badge_awards ORDER BY issued_on, id")
        .fetch_all(&issuer.state.db.pool)
        .await
        .unwrap();
    let (app, zoe) = home().await;

    let (status, _) = import(&zoe, None, &issuer.url(&format!("/badges/ob2/assertions/{}", ids[0]))).await;
    assert_eq!(status, 303, "a hosted assertion's address");
    let json = bytes(&issuer, &format!("/badges/ob2/assertions/{}", ids[1])).await;
    let (status, _) = import(&zoe, Some(("assertion.json", json)), "").await;
    assert_eq!(status, 303, "an assertion JSON file");
    let jwt = bytes(&issuer, &format!("/badges/ob3/credentials/{}", ids[1])).await;
    let (status, _) = import(&zoe, Some(("credential.jwt", jwt)), "").await;
    assert_eq!(status, 303, "a VC-JWT file");

    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM badge_imports").await, 3);
}

#[tokio::test]
async fn tampered_wrong_recipient_expired_revoked_and_damaged_badges_are_refused() {
    let (issuer, staff, id) = issuer_with_award("1").await;
    let (app, zoe) = home().await;
    let (_, bob) = app.logged_in("bob").await;
    let png = bytes(&issuer, &format!("/badges/awards/{id}/baked.png")).await;

    let (status, page) = import(&bob, Some(("zoe's.png", png.clone())), "").await;
    assert_eq!(status, 400);
    assert!(page.contains("not one of your confirmed addresses"), "{page}");

    let token = String::from_utf8(bytes(&issuer, &format!("/badges/ob3/credentials/{id}")).await).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], parts[1].replacen('e', "f", 1), parts[2]);
    let (status, page) = import(&zoe, Some(("forged.jwt", forged.into_bytes())), "").await;
    assert_eq!(status, 400, "{page}");

    let mut damaged = png.clone();
    let at = damaged.windows(4).position(|w| w == b"iTXt").unwrap() + 10;
    damaged[at] ^= 0x20;
    let (status, page) = import(&zoe, Some(("damaged.png", damaged)), "").await;
    assert_eq!(status, 400);
    assert!(page.contains("The image is damaged."));

    app.clock().advance(2 * 86_400);
    let (status, page) = import(&zoe, Some(("old.png", png.clone())), "").await;
    assert_eq!(status, 400);
    assert!(page.contains("Past its expiry date."));

    staff.submit(&format!("/admin/badges/awards/{id}/revoke/"), &[("reason", "Issued in error 🙊")]).await;
    let (status, page) = import(&zoe, Some(("revoked.png", png)), "").await;
    assert_eq!(status, 400);
    assert!(page.contains("revoked"), "{page}");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM badge_imports").await, 0);
}

#[tokio::test]
async fn the_daily_reverification_shows_a_later_revocation() {
    let (issuer, staff, id) = issuer_with_award("").await;
    let (app, zoe) = home().await;
    let (status, _) = import(
        &zoe,
        Some(("credential.png", bytes(&issuer, &format!("/badges/awards/{id}/credential.png")).await)),
        "",
    )
    .await;
    assert_eq!(status, 303);
    let imported: String =
        sqlx::query_scalar("SELECT id FROM badge_imports").fetch_one(&app.state.db.pool).await.unwrap();

    shoestring::worker(&app.state).register_schedules().await.unwrap();
    staff.submit(&format!("/admin/badges/awards/{id}/revoke/"), &[("reason", "Issued in error 🙊")]).await;
    app.clock().advance(86_400 + 60);
    app.run_jobs().await;

    let (_, page) = zoe.get_text(&format!("/badges/imported/{imported}/")).await;
    assert!(page.contains("<strong>revoked.</strong>"), "{page}");
    assert!(page.contains("Revoked in the issuer"), "the report says why");
    let (_, other) = app.logged_in("bob").await;
    assert_eq!(other.get(&format!("/badges/imported/{imported}/")).await.status(), 404);
}

#[tokio::test]
async fn a_badge_follows_its_holder_to_her_confirmed_personal_address() {
    let (issuer, _, id) = issuer_with_award("").await;
    let zoe_at_work = issuer.browser();
    zoe_at_work.api_login("zoe", PASSWORD).await;
    let (app, zoe) = home().await;
    let png = bytes(&issuer, &format!("/badges/awards/{id}/baked.png")).await;
    let (before, _) = import(&zoe, Some(("work.png", png)), "").await;
    assert_eq!(before, 303, "issued to zoe@example.com, confirmed in both places");
    sqlx::query("DELETE FROM badge_imports").execute(&app.state.db.pool).await.unwrap();

    issuer.add_personal_email(&zoe_at_work, "zoe@home.example").await;
    let png = bytes(&issuer, &format!("/badges/awards/{id}/baked.png")).await;
    let jwt = bytes(&issuer, &format!("/badges/ob3/credentials/{id}")).await;
    let (left, page) = import(&zoe, Some(("personal.png", png.clone())), "").await;
    assert_eq!(left, 400, "now issued to her personal address, not yet hers here");
    assert!(page.contains("not one of your confirmed addresses"), "{page}");

    app.add_personal_email(&zoe, "zoe@home.example").await;
    let (png_status, page) = import(&zoe, Some(("personal.png", png)), "").await;
    let (jwt_status, _) = import(&zoe, Some(("personal.jwt", jwt)), "").await;
    assert_eq!((png_status, jwt_status), (303, 303), "{page}");
}
