//! A visitor: an HTTP client with its own cookie jar that never follows redirects, with
//! helpers that fill in the CSRF token for forms as a browser would.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, Url};

pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    base: String,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { client, jar, base: format!("http://{addr}") }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The value of one of this visitor's cookies.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url: Url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// Replaces a cookie, as a tampering or replaying client would.
    pub fn set_cookie(&self, name: &str, value: &str) {
        let url: Url = self.base.parse().unwrap();
        self.jar.add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let res = self.get(path).await;
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// The CSRF token a page would embed (fetching the cookie first if needed).
    pub async fn csrf_token(&self) -> String {
        if self.cookie("csrftoken").is_none() {
            self.get("/api/session/").await;
        }
        self.cookie("csrftoken").expect("csrftoken cookie")
    }

    /// Submits a form the way the page does, with the CSRF token.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.client.post(self.url(path)).form(&all).send().await.unwrap()
    }

    /// A form POST without any CSRF token.
    pub async fn submit_without_token(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client.post(self.url(path)).form(fields).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    pub async fn patch_json(&self, path: &str, body: &serde_json::Value) -> Response {
        self.client.patch(self.url(path)).json(body).send().await.unwrap()
    }

    /// POSTs JSON and returns status and parsed body.
    pub async fn json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let res = self.post_json(path, &body).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn api_login(&self, login: &str, password: &str) {
        let (status, body) =
            self.json("/api/login/", serde_json::json!({"username": login, "password": password})).await;
        assert_eq!(status, 200, "login of {login}: {body}");
    }

    pub async fn is_logged_in(&self) -> bool {
        let (_, body) = self.get_json("/api/session/").await;
        body["authenticated"] == true
    }
}
