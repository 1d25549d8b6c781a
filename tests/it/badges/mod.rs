//! Badges: the console's design form, awards (one or many, preview, report, revocation), the
//! public verification page, my badges, the REST API; later Open Badges export and import.

mod awards;
mod classes;
mod credentials;
mod imports;
mod openbadges;
mod progress;

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use reqwest::multipart::{Form, Part};

use crate::support::{Browser, TestApp};

/// A small PNG badge image with some colour in it.
pub fn badge_png() -> Vec<u8> {
    let img = RgbaImage::from_fn(96, 96, |x, y| Rgba([(x * 2) as u8, (y * 2) as u8, 180, 255]));
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(img).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
    out
}

/// The design form as a browser sends it (multipart, CSRF token first), with an optional image.
pub async fn submit_badge(
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
    image: Option<Vec<u8>>,
) -> reqwest::Response {
    let mut form = Form::new().text("csrf_token", browser.csrf_token().await);
    for (name, value) in fields {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    if let Some(bytes) = image {
        form = form.part("image", Part::bytes(bytes).file_name("badge 🏅.png").mime_str("image/png").unwrap());
    }
    browser.client.post(browser.url(path)).multipart(form).send().await.unwrap()
}

/// A badge designed through the console; returns its id.
pub async fn design_badge(staff: &Browser, name: &str, slug: &str, valid_days: &str) -> String {
    let fields = [
        ("name", name),
        ("slug", slug),
        ("description", "Writes tidy 🐍 Python and explains it 🗣️."),
        ("criteria", "Finish the course 📚 and pass the review ✅."),
        ("valid_days", valid_days),
    ];
    let res = submit_badge(staff, "/admin/badges/new/", &fields, Some(badge_png())).await;
    assert_eq!(res.status(), 303, "badge {name} designed");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    location.trim_end_matches('/').rsplit('/').next().unwrap().to_owned()
}

/// Awards the badge to the listed people through the console; returns the page's HTML.
pub async fn award(staff: &Browser, badge_id: &str, recipients: &str) -> String {
    let res = staff
        .submit(
            &format!("/admin/badges/{badge_id}/award/"),
            &[("recipients", recipients), ("action", "award"), ("evidence_text", "Shipped the 🚀 launch.")],
        )
        .await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// The id of the newest award to `username`.
pub async fn award_id_of(app: &TestApp, username: &str) -> String {
    sqlx::query_scalar("SELECT a.id FROM badge_awards a JOIN users u ON u.id = a.recipient_id WHERE u.username = $1 ORDER BY a.issued_on DESC LIMIT 1")
        .bind(username)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}
