//! Image uploads: formats judged by content, re-encoding (no EXIF, no appended payload),
//! size and pixel limits, safe serving, and files removed with their post.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat};
use reqwest::multipart::{Form, Part};

use crate::support::{Browser, TestApp};

fn encode(format: ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let img = DynamicImage::new_rgb8(width, height);
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

/// A JPEG with an EXIF segment that carries a GPS marker, as phones write them.
fn jpeg_with_exif() -> Vec<u8> {
    let jpeg = encode(ImageFormat::Jpeg, 64, 64);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(b"MM\0*\0\0\0\x08GPSLatitude=52.5200N;GPSLongitude=13.4050E");
    let length = u16::try_from(payload.len() + 2).unwrap().to_be_bytes();
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1, length[0], length[1]]);
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A tiny PNG whose header claims 50,000 × 50,000 pixels.
fn pixel_flood() -> Vec<u8> {
    let mut png = encode(ImageFormat::Png, 1, 1);
    // IHDR data starts at byte 16: width and height, then recompute the chunk's CRC.
    png[16..20].copy_from_slice(&50_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&50_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]).to_be_bytes();
    png[29..33].copy_from_slice(&crc);
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

async fn upload(browser: &Browser, bytes: Vec<u8>, file_name: &str, mime: &str) -> (u16, serde_json::Value) {
    let part = Part::bytes(bytes).file_name(file_name.to_owned()).mime_str(mime).unwrap();
    let form = Form::new().text("body", "with a picture").part("image", part);
    let res = browser.client.post(browser.url("/api/posts/")).multipart(form).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or_default())
}

#[tokio::test]
async fn png_jpeg_and_webp_uploads_get_an_image_and_a_thumbnail() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for (format, mime) in
        [(ImageFormat::Png, "image/png"), (ImageFormat::Jpeg, "image/jpeg"), (ImageFormat::WebP, "image/webp")]
    {
        let (status, post) = upload(&browser, encode(format, 900, 300), "picture", mime).await;
        assert_eq!(status, 201, "{mime}: {post}");
        let image = browser.get(post["image"].as_str().unwrap()).await;
        let headers = image.headers().clone();
        let thumb = browser.get(post["thumbnail"].as_str().unwrap()).await.bytes().await.unwrap();
        assert_eq!(headers["content-type"], mime);
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["content-security-policy"], "default-src 'none'; sandbox");
        let thumb = image::load_from_memory(&thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (480, 160));
    }
}

#[tokio::test]
async fn the_format_is_judged_by_content_not_by_name_or_type() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    let png_as_html = upload(&browser, encode(ImageFormat::Png, 10, 10), "x.html", "text/html").await;
    let gif = upload(
        &browser,
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01;".to_vec(),
        "x.png",
        "image/png",
    )
    .await;
    let svg = upload(
        &browser,
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
        "x.png",
        "image/png",
    )
    .await;
    let php = upload(&browser, b"<?php system($_GET['c']); ?>".to_vec(), "x.jpg", "image/jpeg").await;

    assert_eq!(png_as_html.0, 201);
    assert!(png_as_html.1["image"].as_str().unwrap().ends_with(".png"));
    for (status, body) in [gif, svg, php] {
        assert_eq!(status, 400);
        assert_eq!(body["errors"]["image"][0], "Upload a PNG, JPEG or WebP image.");
    }
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM posts").await, 1);
}

#[tokio::test]
async fn exif_metadata_and_appended_payloads_are_removed() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    let mut polyglot = encode(ImageFormat::Png, 20, 20);
    polyglot.extend_from_slice(b"<script>alert(1)</script>");

    let (_, with_exif) = upload(&browser, jpeg_with_exif(), "photo.jpg", "image/jpeg").await;
    let (_, with_payload) = upload(&browser, polyglot, "x.png", "image/png").await;
    let exif_bytes = browser.get(with_exif["image"].as_str().unwrap()).await.bytes().await.unwrap();
    let payload_bytes = browser.get(with_payload["image"].as_str().unwrap()).await.bytes().await.unwrap();

    assert!(jpeg_with_exif().windows(4).any(|w| w == b"Exif"), "the fixture has EXIF");
    assert!(!exif_bytes.windows(4).any(|w| w == b"Exif"));
    assert!(!exif_bytes.windows(3).any(|w| w == b"GPS"));
    assert!(!payload_bytes.windows(8).any(|w| w == b"<script>"));
}

#[tokio::test]
async fn oversized_and_pixel_flood_uploads_are_refused_and_leave_no_files() {
    let app = TestApp::spawn_with(|s| s.max_upload_bytes = 100 * 1024).await;
    let browser = app.browser();
    let big = vec![0u8; 300 * 1024];

    let too_big = upload(&browser, big, "big.png", "image/png").await;
    let flood = upload(&browser, pixel_flood(), "flood.png", "image/png").await;

    assert_eq!(too_big.0, 413);
    assert_eq!(flood.0, 400);
    assert!(flood.1["errors"]["image"][0].as_str().unwrap().contains("too large"));
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM posts").await, 0);
    assert_eq!(files_in(&app.state.settings.media_dir), 0);
}

#[tokio::test]
async fn the_users_file_name_is_never_used_for_storage() {
    let app = TestApp::spawn().await;

    let browser = app.browser();
    let (status, post) = upload(&browser, encode(ImageFormat::Png, 10, 10), "../../etc/passwd", "image/png").await;
    let (injected, _) = upload(&browser, encode(ImageFormat::Png, 10, 10), "x.png\r\nX-Injected: y", "image/png").await;

    assert_eq!(status, 201);
    assert!((400..500).contains(&injected) || injected == 201, "{injected}");
    let url = post["image"].as_str().unwrap();
    assert!(url.starts_with("/media/posts/") && !url.contains("passwd") && !url.contains(".."));
}

#[tokio::test]
async fn deleting_a_post_deletes_its_files() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.logged_in("alice").await;
    let (_, post) = upload(&alice, encode(ImageFormat::Png, 10, 10), "x.png", "image/png").await;
    let files_before = files_in(&app.state.settings.media_dir);

    let deleted = alice.client.delete(alice.url(&format!("/api/posts/{}/", post["id"]))).send().await.unwrap();

    assert_eq!(deleted.status(), 204);
    assert_eq!(files_before, 2);
    assert_eq!(files_in(&app.state.settings.media_dir), 0);
    assert_eq!(alice.get(post["image"].as_str().unwrap()).await.status(), 404);
    assert_eq!(app.scalar_i64("SELECT COUNT(*) FROM orphan_media").await, 0);
}

#[tokio::test]
async fn no_directory_listing_or_path_tricks_under_media() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for path in [
        "/media/",
        "/media/posts/",
        "/media/../Cargo.toml",
        "/media/%2e%2e/Cargo.toml",
        "/static/../Cargo.toml",
        "/.env",
        "/.git/HEAD",
    ] {
        assert_eq!(browser.get(path).await.status(), 404, "{path}");
    }
}

fn files_in(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|e| if e.path().is_dir() { files_in(&e.path()) } else { 1 }).sum()
}
