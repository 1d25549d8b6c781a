//! `TestApp::spawn()` boots the real router on 127.0.0.1:0 with a fresh database, the local
//! outbox as mailer and a clock the test can move; `run_jobs()` drains the job queue.

pub mod browser;
pub mod cluster;
pub mod db;
pub mod oidc;
pub mod smtp;
pub mod source;
pub mod validators;

use std::net::SocketAddr;

use clap::Parser;
use shoestring::cli::Cli;
use shoestring::kernel::AppState;
use shoestring::kernel::clock::Clock;
use shoestring::kernel::config::{Settings, TrustedProxies};
use shoestring::kernel::email::outbox::{self, StoredMessage};
use tokio::sync::watch;

pub use browser::Browser;
use db::TestDb;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The database, dropped with the app that created it (`None` for a second instance).
    _db: Option<TestDb>,
    _media: TempDir,
    stop: watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The settings a test starts from: development defaults, nothing taken from the environment
/// that could change behaviour.
pub fn test_settings() -> Settings {
    let mut settings = Cli::parse_from(["shoestring"]).settings;
    settings.env = shoestring::kernel::config::AppEnv::Development;
    settings.smtp_url = None;
    settings.allowed_hosts = Vec::new();
    settings.trusted_proxies = TrustedProxies::default();
    settings.hash_concurrency = Some(2);
    settings
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Boots with settings changed by `configure` (e.g. a trusted proxy, a short TTL).
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let (db, url) = TestDb::create().await;
        let mut settings = test_settings();
        settings.database_url = shoestring::kernel::config::Secret::new(url);
        let (listener, media) = Self::place(&mut settings).await;
        configure(&mut settings);
        Self::start(settings, listener, media, Some(db)).await
    }

    /// A second instance of this app: its own process state, port and media folder, the same
    /// database and settings (a deployment with several copies behind one proxy).
    pub async fn spawn_beside(&self) -> Self {
        let mut settings = (*self.state.settings).clone();
        let (listener, media) = Self::place(&mut settings).await;
        Self::start(settings, listener, media, None).await
    }

    /// A port and a media folder of its own.
    async fn place(settings: &mut Settings) -> (tokio::net::TcpListener, TempDir) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        settings.bind = addr;
        settings.base_url = Some(format!("http://{addr}"));
        let media = TempDir::new("media");
        settings.media_dir = media.0.clone();
        (listener, media)
    }

    async fn start(settings: Settings, listener: tokio::net::TcpListener, media: TempDir, db: Option<TestDb>) -> Self {
        let addr = listener.local_addr().unwrap();
        let state = AppState::build(settings, Clock::default()).await.expect("app state");
        shoestring::migrate(&state).await.expect("migrations");
        let (stop, stopped) = watch::channel(false);
        let server_state = state.clone();
        let server = tokio::spawn(async move { shoestring::serve(server_state, listener, stopped).await });
        TestApp { addr, state, _db: db, _media: media, stop, server: Some(server) }
    }

    /// Asks the server to stop, as SIGTERM does, without waiting for it.
    pub fn begin_stop(&self) {
        self.stop.send_replace(true);
    }

    /// Asks the server to stop, as SIGTERM does, and waits (at most 60 s) until it has; returns
    /// how long that took.
    pub async fn stop_server(&mut self) -> std::time::Duration {
        let started = std::time::Instant::now();
        self.begin_stop();
        if let Some(server) = self.server.take() {
            tokio::time::timeout(std::time::Duration::from_secs(60), server)
                .await
                .expect("the server stopped within 60 s")
                .expect("the server task")
                .expect("the server");
        }
        started.elapsed()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A new visitor with its own cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(self.addr)
    }

    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// Runs every due job (emails, cleanup) now.
    pub async fn run_jobs(&self) -> usize {
        shoestring::worker(&self.state).run_due().await.expect("jobs run")
    }

    /// Every message in the outbox, oldest first (after running the queue).
    pub async fn mails(&self) -> Vec<StoredMessage> {
        self.run_jobs().await;
        let mut all = outbox::list_messages(&self.state.db, 1000).await.unwrap();
        all.reverse();
        all
    }

    pub async fn mails_to(&self, to: &str) -> Vec<StoredMessage> {
        self.mails().await.into_iter().filter(|m| m.to_addr == to).collect()
    }

    /// The newest mail to `to`, which must exist.
    pub async fn last_mail_to(&self, to: &str) -> StoredMessage {
        self.mails_to(to).await.pop().unwrap_or_else(|| panic!("no mail to {to}"))
    }

    /// The path (with token) of the first link in `mail` that starts with `prefix`.
    pub fn link_in(&self, mail: &StoredMessage, prefix: &str) -> String {
        let start = mail.text_body.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in mail"));
        mail.text_body[start..].chars().take_while(|c| !c.is_whitespace()).collect()
    }

    /// The token at the end of a link path like `/accounts/confirm/<token>/`.
    pub fn token_of(link: &str) -> String {
        link.trim_end_matches('/').rsplit('/').next().unwrap().to_owned()
    }

    /// Signs a user up through the JSON API and confirms the account from the emailed link.
    pub async fn confirmed_user(&self, username: &str) -> TestUser {
        let user = TestUser::named(username);
        let browser = self.browser();
        let res = browser.post_json("/api/create-account/", &user.signup_json()).await;
        assert_eq!(res.status(), 200, "sign-up of {username}");
        let link = self.link_in(&self.last_mail_to(&user.email).await, "/accounts/confirm/");
        let res = browser
            .post_json(&format!("/api/activate-account/{}", Self::token_of(&link)), &serde_json::json!({}))
            .await;
        assert_eq!(res.status(), 200, "activation of {username}");
        user
    }

    /// Adds `address` as the personal email of `browser`'s user (password `PASSWORD`) and opens
    /// its emailed link.
    pub async fn add_personal_email(&self, browser: &Browser, address: &str) {
        let fields = [("email", address), ("password", PASSWORD)];
        assert_eq!(browser.submit("/accounts/personal-email/", &fields).await.status(), 303, "{address} asked for");
        let link = self.link_in(&self.last_mail_to(address).await, "/accounts/personal-email/confirm/");
        assert_eq!(browser.submit(&link, &[]).await.status(), 200, "{address} confirmed");
    }

    /// A logged-in browser for a fresh confirmed user.
    pub async fn logged_in(&self, username: &str) -> (TestUser, Browser) {
        let user = self.confirmed_user(username).await;
        let browser = self.browser();
        browser.api_login(&user.username, &user.password).await;
        (user, browser)
    }

    /// A staff superuser made the way `createsuperuser` does, logged in.
    pub async fn staff(&self, username: &str) -> (TestUser, Browser) {
        let (user, _) = self.staff_user(username).await;
        let browser = self.browser();
        browser.api_login(&user.username, &user.password).await;
        (user, browser)
    }

    /// A staff superuser made the way `createsuperuser` does, not logged in.
    pub async fn staff_user(&self, username: &str) -> (TestUser, i64) {
        let user = TestUser::named(username);
        let password = shoestring::kernel::security::password::Password::new(user.password.clone());
        let id = shoestring::apps::accounts::create_superuser(&self.state, &user.username, &user.email, &password)
            .await
            .expect("superuser");
        (user, id)
    }

    /// One value from the database, for grey-box checks.
    pub async fn scalar_i64(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.state.db.pool).await.unwrap()
    }
}

/// A folder under the system's temp dir, removed when the test ends.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        let dir = std::env::temp_dir()
            .join(format!("shoestring-{label}-{}", shoestring::kernel::security::token::random_token()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Clone, Debug)]
pub struct TestUser {
    pub username: String,
    pub email: String,
    pub password: String,
}

impl TestUser {
    pub fn named(username: &str) -> Self {
        Self { username: username.into(), email: format!("{username}@example.com"), password: PASSWORD.into() }
    }

    pub fn signup_json(&self) -> serde_json::Value {
        serde_json::json!({"username": self.username, "email": self.email, "password": self.password})
    }
}
