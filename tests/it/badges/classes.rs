//! Staff design badges in the console: errors at the top and beside each field, the slug rule
//! and its message, https image addresses, uploads checked and re-encoded as PNG.

use super::{badge_png, design_badge, submit_badge};
use crate::support::TestApp;

const SLUG_MESSAGE: &str = "Only lowercase letters and hyphens are allowed.";

#[tokio::test]
async fn staff_design_a_badge_whose_upload_is_kept_as_a_clean_png() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    let mut jpeg = Vec::new();
    image::DynamicImage::new_rgb8(700, 300)
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    jpeg.extend_from_slice(b"<script>alert(1)</script>");

    let fields = [
        ("name", "Rust 🦀 Café"),
        ("slug", "rust-101"),
        ("description", "Ownership ✔"),
        ("criteria", "Ship a crate 📦"),
    ];
    let res = submit_badge(&staff, "/admin/badges/new/", &fields, Some(jpeg)).await;

    assert_eq!(res.status(), 303);
    let id: String = sqlx::query_scalar("SELECT id FROM badge_classes WHERE slug = 'rust-101'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let image = staff.get(&format!("/badges/images/{id}.png")).await;
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.headers()["content-security-policy"], "default-src 'none'; sandbox");
    let bytes = image.bytes().await.unwrap();
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (512, 219));
    assert!(!bytes.windows(8).any(|w| w == b"<script>"));
    let (_, list) = staff.get_text("/admin/badges/").await;
    assert!(list.contains("Rust 🦀 Café"));
}

#[tokio::test]
async fn a_bad_slug_is_shown_at_the_top_and_beside_the_field() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;

    let fields = [
        ("name", "Python 🐍"),
        ("slug", "Python 🐍"),
        ("description", "d"),
        ("criteria", "c"),
        ("image_url", "http://cdn.example.com/p.png"),
    ];
    let res = submit_badge(&staff, "/admin/badges/new/", &fields, None).await;

    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    let top = html.find("form-errors").expect("a summary at the top");
    let form = html.find("<form class=\"form\"").unwrap();
    assert!(top < form && html[top..form].contains(&format!("Slug: {SLUG_MESSAGE}")), "{html}");
    assert!(html[form..].contains(&format!("<p class=\"error\">{SLUG_MESSAGE}</p>")));
    assert!(html.contains("Enter an https:// address."), "the image address error too");
    assert!(html.contains("value=\"Python 🐍\""), "what was typed is kept");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM badge_classes").await, 0);
}

#[tokio::test]
async fn an_image_address_must_be_https_and_an_upload_must_be_an_image() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    let base = [("name", "Go 🐹"), ("slug", "go"), ("description", "d"), ("criteria", "c")];

    for bad in ["javascript:alert(1)", " JaVaScRiPt:x", "data:image/png;base64,AA"] {
        let fields: Vec<_> = base.iter().copied().chain([("image_url", bad)]).collect();
        assert_eq!(submit_badge(&staff, "/admin/badges/new/", &fields, None).await.status(), 400, "{bad}");
    }
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec();
    let res = submit_badge(&staff, "/admin/badges/new/", &base, Some(svg)).await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("Upload a PNG, JPEG or WebP image."));

    let fields: Vec<_> = base.iter().copied().chain([("image_url", "https://cdn.example.com/🐹.png")]).collect();
    assert_eq!(submit_badge(&staff, "/admin/badges/new/", &fields, None).await.status(), 303);
}

#[tokio::test]
async fn a_taken_slug_is_a_form_error() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    design_badge(&staff, "First ☕", "coffee", "").await;

    let fields = [("name", "Second ☕"), ("slug", "coffee"), ("description", "d"), ("criteria", "c")];
    let res = submit_badge(&staff, "/admin/badges/new/", &fields, Some(badge_png())).await;

    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("Another badge already has this slug."));
}

#[tokio::test]
async fn an_edit_keeps_the_image_and_checks_the_slug_again() {
    let app = TestApp::spawn().await;
    let (_, staff) = app.staff("ada").await;
    let id = design_badge(&staff, "Tea 🍵", "tea", "30").await;

    let fields =
        [("name", "Green tea 🍵"), ("slug", "green-tea"), ("description", "d"), ("criteria", "c"), ("valid_days", "")];
    let res = submit_badge(&staff, &format!("/admin/badges/{id}/edit/"), &fields, None).await;
    assert_eq!(res.status(), 303);
    let bad = [("name", "Green tea 🍵"), ("slug", "green_tea"), ("description", "d"), ("criteria", "c")];
    let res = submit_badge(&staff, &format!("/admin/badges/{id}/edit/"), &bad, None).await;
    assert_eq!(res.status(), 400);

    let (_, api) = staff.get_json("/api/badges/classes/green-tea/").await;
    assert_eq!(api["name"], "Green tea 🍵");
    assert_eq!(api["valid_days"], serde_json::Value::Null);
    assert!(api["image"].as_str().unwrap().ends_with(&format!("/badges/images/{id}.png")));
}

#[tokio::test]
async fn only_staff_reach_the_badge_console() {
    let app = TestApp::spawn().await;
    let (_, member) = app.logged_in("bob").await;

    assert_eq!(member.get("/admin/badges/new/").await.status(), 403);
    let fields = [("name", "Sneaky 🥷"), ("slug", "sneaky"), ("description", "d"), ("criteria", "c")];
    assert_eq!(submit_badge(&member, "/admin/badges/new/", &fields, Some(badge_png())).await.status(), 403);
    assert_eq!(app.browser().get("/admin/badges/").await.status(), 303, "anonymous visitors go to login");
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM badge_classes").await, 0);
}
