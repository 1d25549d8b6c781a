//! The OpenAPI document describes every JSON route, and Swagger UI works offline.

use std::collections::BTreeSet;

use crate::support::TestApp;

/// Every JSON endpoint the app serves, as (method, path).
const ENDPOINTS: &[(&str, &str)] = &[
    ("get", "/api/session/"),
    ("post", "/api/whoami/"),
    ("post", "/api/login/"),
    ("post", "/api/logout/"),
    ("post", "/api/create-account/"),
    ("get", "/api/activate-account/{token}"),
    ("post", "/api/activate-account/{token}"),
    ("get", "/api/activate-account/{token}/"),
    ("post", "/api/activate-account/{token}/"),
    ("post", "/api/resend-confirmation/"),
    ("post", "/api/recover-password/"),
    ("post", "/api/update-password/"),
    ("get", "/api/profile/"),
    ("patch", "/api/profile/"),
    ("post", "/api/change-email/"),
    ("post", "/api/confirm-email/{token}"),
    ("post", "/api/confirm-email/{token}/"),
    ("post", "/api/change-password/"),
    ("post", "/api/delete-account/"),
    ("get", "/api/export/"),
    ("get", "/api/users/"),
    ("get", "/api/sessions/"),
    ("post", "/api/sessions/end/"),
    ("get", "/api/security-activity/"),
    ("get", "/api/posts/"),
    ("post", "/api/posts/"),
    ("get", "/api/posts/{id}/"),
    ("patch", "/api/posts/{id}/"),
    ("put", "/api/posts/{id}/"),
    ("delete", "/api/posts/{id}/"),
    ("post", "/api/posts/{id}/like/"),
    ("get", "/api/badges/awards/"),
    ("get", "/api/badges/classes/{id}/"),
    ("get", "/api/badges/awards/{id}/verify/"),
];

#[tokio::test]
async fn the_document_lists_exactly_the_json_routes() {
    let app = TestApp::spawn().await;

    let (status, doc) = app.browser().get_json("/api/openapi.json").await;

    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let expected: BTreeSet<(String, String)> =
        ENDPOINTS.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(documented, expected);
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = TestApp::spawn().await;
    let browser = app.browser();

    for (method, path) in ENDPOINTS {
        let url = browser.url(&path.replace("{token}", "x").replace("{id}", "1"));
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let status = browser.client.request(method.clone(), url).send().await.unwrap().status().as_u16();
        assert!(status != 405 && (status != 404 || path.contains("{id}")), "{method} {path} answered {status}");
    }
}

#[test]
fn no_json_route_bypasses_the_documented_router() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    visit(&src, &mut |path, text| {
        if text.contains(".route(\"/api/") {
            offenders.push(path.display().to_string());
        }
    });
    assert!(offenders.is_empty(), "API routes added outside utoipa's routes!: {offenders:?}");
}

fn visit(dir: &std::path::Path, f: &mut dyn FnMut(&std::path::Path, &str)) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            visit(&path, f);
        } else if path.extension().is_some_and(|e| e == "rs") {
            f(&path, &std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[tokio::test]
async fn swagger_ui_is_served_with_its_assets_and_hidden_in_production() {
    let dev = TestApp::spawn().await;
    let prod = TestApp::spawn_with(|s| s.api_docs = Some(false)).await;
    let browser = dev.browser();

    let (status, html) = browser.get_text("/api/docs/").await;
    let bundle = browser.get("/api/docs/swagger-ui-bundle.js").await;

    assert_eq!(status, 200);
    assert!(html.contains("swagger") && !html.contains("https://unpkg"));
    assert_eq!(bundle.status(), 200);
    assert_eq!(prod.browser().get("/api/docs/").await.status(), 404);
    assert_eq!(prod.browser().get("/api/openapi.json").await.status(), 404);
}
