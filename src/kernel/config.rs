//! Typed settings, read once from the environment (and an optional `.env`) and validated at boot.
//! Every setting is also a command-line flag, so `shoestring serve --help` documents them all.
//! Production refuses to start on a missing or weak secret, host list, SMTP or database setting.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use clap::{Args, ValueEnum};

mod operations;
mod storage;
pub use operations::{MetricsBind, OperationsSettings};
pub use storage::{StorageSettings, parse_every};

/// The development secret: fine on a laptop, refused in production.
pub const DEV_SECRET_KEY: &str = "development-only-secret-key-do-not-use-in-production-0123456789abcdef";
pub const MIN_SECRET_LEN: usize = 64;
/// Fewer different characters than this is a pattern, not a random secret.
pub const MIN_SECRET_DISTINCT: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AppEnv {
    Development,
    Production,
}

/// A string that never prints: `Debug` shows a placeholder and there is no `Display`; read it
/// with `expose()`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpAddr>);

impl TrustedProxies {
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }
}

impl FromStr for TrustedProxies {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("none") || s.trim().is_empty() {
            return Ok(Self::default());
        }
        s.split(',')
            .map(|ip| ip.trim().parse().map_err(|_| format!("not an IP address: {ip}")))
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// What a first single sign-on login does when no account can be linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NewSsoUsers {
    /// Create an account for the person.
    Create,
    /// Refuse with a page that says to ask staff.
    Refuse,
}

#[derive(Clone, Debug, Args)]
pub struct Settings {
    /// `development` (local outbox, readable logs) or `production` (strict checks, JSON logs).
    #[arg(long = "env", env = "APP_ENV", value_enum, default_value = "development", global = true)]
    pub env: AppEnv,
    /// Ask browsers to put this site on their HSTS preload lists (`; preload` in
    /// Strict-Transport-Security). Only once every subdomain serves HTTPS: leaving a list takes months.
    #[arg(long, env = "HSTS_PRELOAD", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub hsts_preload: bool,
    /// Address the HTTP server listens on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8000", global = true)]
    pub bind: SocketAddr,
    /// `sqlite://path/file.db` or `postgres://user@host/db`. Default: a SQLite file under ./data/.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/shoestring.db", global = true)]
    pub database_url: Secret,
    /// `smtps://user:pass@host:465` or `smtp://user:pass@host:587?tls=required`. Unset: local outbox.
    #[arg(long, env = "SMTP_URL", global = true)]
    pub smtp_url: Option<Secret>,
    /// Keep every email in the outbox table and send none, even in production: a staging copy
    /// of production's data holds real people's addresses (`shoestring deploy --staging`).
    #[arg(long, env = "MAIL_OUTBOX", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub mail_outbox: bool,
    /// The From header of every email.
    #[arg(long, env = "MAIL_FROM", default_value = "Shoestring <noreply@localhost>", global = true)]
    pub mail_from: String,
    /// Key for signing tokens and session fingerprints; at least 64 characters in production.
    #[arg(long, env = "SECRET_KEY", default_value = DEV_SECRET_KEY, hide_default_value = true, global = true)]
    pub secret_key: Secret,
    /// Public address used in emailed links (never the request's Host). Default: http://BIND.
    #[arg(long, env = "BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Comma-separated host names this app answers to. Default in development: localhost names.
    #[arg(long, env = "ALLOWED_HOSTS", value_delimiter = ',', global = true)]
    pub allowed_hosts: Vec<String>,
    /// Serve the admin console only on this host (e.g. p.example.com); unset: on any allowed host.
    #[arg(long, env = "ADMIN_HOST", global = true)]
    pub admin_host: Option<String>,
    /// Comma-separated proxy IPs whose X-Forwarded-For is believed, or `none`. The default
    /// trusts a proxy on this machine (Caddy in front, as Rails trusts local proxies); a client
    /// elsewhere can never set its own address.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "127.0.0.1,::1", global = true)]
    pub trusted_proxies: TrustedProxies,
    /// Minimum password length (never below 8).
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = 12, global = true)]
    pub password_min_length: usize,
    /// How long an emailed confirmation link stays valid, in hours.
    #[arg(long, env = "CONFIRMATION_TTL_HOURS", default_value_t = 72, global = true)]
    pub confirmation_ttl_hours: i64,
    /// How long an emailed password-reset link stays valid, in minutes.
    #[arg(long, env = "PASSWORD_RESET_TTL_MINUTES", default_value_t = 60, global = true)]
    pub password_reset_ttl_minutes: i64,
    /// Sessions end after this many days without a request.
    #[arg(long, env = "SESSION_IDLE_DAYS", default_value_t = 7, global = true)]
    pub session_idle_days: i64,
    /// Sessions end this many days after login, active or not.
    #[arg(long, env = "SESSION_MAX_DAYS", default_value_t = 30, global = true)]
    pub session_max_days: i64,
    /// argon2id memory cost in KiB (OWASP minimum 19456).
    #[arg(long, env = "ARGON2_MEMORY_KIB", default_value_t = 19456, global = true)]
    pub argon2_memory_kib: u32,
    /// argon2id iterations (OWASP minimum 2 at 19 MiB).
    #[arg(long, env = "ARGON2_ITERATIONS", default_value_t = 2, global = true)]
    pub argon2_iterations: u32,
    /// Password hashes computed at once; the rest wait. Default: half the cores (at least 1).
    #[arg(long, env = "HASH_CONCURRENCY", global = true)]
    pub hash_concurrency: Option<usize>,
    /// Let visitors who are not signed in publish posts (rate-limited per IP).
    #[arg(long, env = "ALLOW_ANONYMOUS_POSTS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub allow_anonymous_posts: bool,
    /// Largest accepted image upload, in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 5 * 1024 * 1024, global = true)]
    pub max_upload_bytes: usize,
    /// Where an emailed confirmation link points: a path (joined to BASE_URL) or a full URL, with
    /// `{token}` where the token goes. E.g. `/api/activate-account/{token}` behind a proxy that
    /// forwards only `/api/*` (the playbook's frontend).
    #[arg(long, env = "CONFIRM_LINK", default_value = "/accounts/confirm/{token}/", global = true)]
    pub confirm_link: String,
    /// Where an emailed password-reset link points, as CONFIRM_LINK; e.g.
    /// `/update_password.html#id={token}` for the playbook's frontend.
    #[arg(long, env = "RESET_LINK", default_value = "/accounts/password-reset/{token}/", global = true)]
    pub reset_link: String,
    /// Where the link that confirms a new email address points, as CONFIRM_LINK.
    #[arg(long, env = "EMAIL_CHANGE_LINK", default_value = "/accounts/email/confirm/{token}/", global = true)]
    pub email_change_link: String,
    /// Memory for decoding uploaded images at once, in MiB; an image needing more is refused,
    /// and uploads beyond it wait up to 10 s, then get 503. The default suits a 512 MB server.
    #[arg(long, env = "IMAGE_MEMORY_MB", default_value_t = 96, global = true)]
    pub image_memory_mb: u32,
    /// Folder for uploaded images (outside any served root).
    #[arg(long, env = "MEDIA_DIR", default_value = "data/media", global = true)]
    pub media_dir: std::path::PathBuf,
    /// Serve the OpenAPI document, Swagger UI, GraphiQL and GraphQL introspection.
    /// Default: on in development, off in production.
    #[arg(long, env = "API_DOCS", action = clap::ArgAction::Set, global = true)]
    pub api_docs: Option<bool>,
    /// Per-IP rate limits (login, sign-up, mail, links). Only a load test turns them off;
    /// production refuses to start without them.
    #[arg(long, env = "RATE_LIMITS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub rate_limits: bool,
    /// A client must send a request's headers within this many seconds of connecting (or of
    /// its previous response, on a kept-alive connection); slow or idle clients are cut off.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub header_read_timeout_secs: u64,
    /// A request body must arrive within this many seconds; a slower upload is refused with 408.
    #[arg(long, env = "BODY_READ_TIMEOUT_SECS", default_value_t = 20, global = true)]
    pub body_read_timeout_secs: u64,
    /// Open connections at most; more wait in the kernel's accept queue until one closes.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1000, global = true)]
    pub max_connections: usize,
    /// On SIGTERM: milliseconds of answering with `Connection: close` before draining (so clients
    /// stop reusing connections that are about to close), then seconds to finish in-flight
    /// requests (and the worker's running job) before the rest are dropped or given back. Keep
    /// their sum below systemd's `TimeoutStopSec`.
    #[arg(long, env = "LAME_DUCK_MS", default_value_t = 1000, global = true)]
    pub lame_duck_ms: u64,
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 20, global = true)]
    pub shutdown_grace_secs: u64,
    /// Run the email/job worker inside `serve` (turn off to run workers elsewhere).
    #[arg(long, env = "RUN_WORKER", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub run_worker: bool,
    /// Single sign-on: the OpenID Connect issuer URL (discovery at
    /// `<issuer>/.well-known/openid-configuration`). Unset: no single sign-on.
    #[arg(long, env = "OIDC_ISSUER_URL", global = true)]
    pub oidc_issuer_url: Option<String>,
    /// The client id registered with the provider (redirect URI: BASE_URL/accounts/sso/callback/).
    #[arg(long, env = "OIDC_CLIENT_ID", default_value = "", global = true)]
    pub oidc_client_id: String,
    /// The client secret registered with the provider.
    #[arg(long, env = "OIDC_CLIENT_SECRET", global = true)]
    pub oidc_client_secret: Option<Secret>,
    /// Scopes asked for, space- or comma-separated (`openid` is always asked).
    #[arg(long, env = "OIDC_SCOPES", default_value = "openid email profile", global = true)]
    pub oidc_scopes: String,
    /// Comma-separated email domains that may sign in and be linked; empty: any (not in production).
    #[arg(long, env = "OIDC_ALLOWED_DOMAINS", value_delimiter = ',', global = true)]
    pub oidc_allowed_domains: Vec<String>,
    /// The ID token claim that lists groups or app roles.
    #[arg(long, env = "OIDC_STAFF_CLAIM", default_value = "groups", global = true)]
    pub oidc_staff_claim: String,
    /// Comma-separated values of that claim that make a person staff (read at every login).
    #[arg(long, env = "OIDC_STAFF_VALUES", value_delimiter = ',', global = true)]
    pub oidc_staff_values: Vec<String>,
    /// The label of the sign-in button.
    #[arg(long, env = "OIDC_BUTTON_LABEL", default_value = "Sign in with your company account", global = true)]
    pub oidc_button_label: String,
    /// `create` an account at a first login that links to none, or `refuse` it.
    #[arg(long, env = "OIDC_NEW_USERS", value_enum, default_value = "create", global = true)]
    pub oidc_new_users: NewSsoUsers,
    /// Count an ID token without `email_verified` as verified (Entra ID and ADFS often omit it).
    #[arg(long, env = "OIDC_TRUST_MISSING_EMAIL_VERIFIED", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub oidc_trust_missing_email_verified: bool,
    /// Seconds the provider's back channel (discovery, keys, token) may take.
    #[arg(long, env = "OIDC_TIMEOUT_SECS", default_value_t = 10, global = true)]
    pub oidc_timeout_secs: u64,
    /// Single sign-on only: password login, sign-up and password reset are gone (staff can still
    /// get in with a one-time `shoestring break-glass` link).
    #[arg(long, env = "SSO_ONLY", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub sso_only: bool,
    /// The badge issuer's name in Open Badges documents and on verification pages.
    #[arg(long, env = "BADGE_ISSUER_NAME", default_value = "Shoestring", global = true)]
    pub badge_issuer_name: String,
    /// The badge issuer's contact address in Open Badges documents (optional).
    #[arg(long, env = "BADGE_ISSUER_EMAIL", global = true)]
    pub badge_issuer_email: Option<String>,
    /// The learning platform's API (e.g. https://learn.example.com); unset: no progress shown.
    #[arg(long, env = "LEARNING_BASE_URL", global = true)]
    pub learning_base_url: Option<String>,
    /// The learning platform's API token, sent as `Authorization: Bearer <token>`.
    #[arg(long, env = "LEARNING_TOKEN", global = true)]
    pub learning_token: Option<Secret>,
    /// The progress path under LEARNING_BASE_URL; `{email}` and `{course}` are filled in.
    #[arg(
        long,
        env = "LEARNING_PATH_TEMPLATE",
        default_value = "/api/v1/users/{email}/courses/{course}/progress",
        global = true
    )]
    pub learning_path_template: String,
    /// How old a person's progress may get before the background job reads it again.
    #[arg(long, env = "LEARNING_REFRESH_MINUTES", default_value_t = 60, global = true)]
    pub learning_refresh_minutes: i64,
    /// Media storage and backups.
    #[command(flatten)]
    pub storage: StorageSettings,
    /// Error mail, metrics, error tracking, readiness.
    #[command(flatten)]
    pub operations: OperationsSettings,
    /// Serve this question (its slug) as the site's home page, instead of the landing page.
    #[arg(long, env = "QUESTION_HOME", global = true)]
    pub question_home: Option<String>,
    /// Let the outbound client (questions' sources, other outside APIs) reach loopback addresses,
    /// over http too. For development and tests only: production refuses it.
    #[arg(long, env = "OUTBOUND_ALLOW_LOOPBACK", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub outbound_allow_loopback: bool,
    /// How long the outbound client waits for a connection, in milliseconds.
    #[arg(long, env = "OUTBOUND_CONNECT_TIMEOUT_MS", default_value_t = 5_000, global = true)]
    pub outbound_connect_timeout_ms: u64,
    /// How long one outbound request may take in total (headers and body), in milliseconds.
    #[arg(long, env = "OUTBOUND_TIMEOUT_MS", default_value_t = 10_000, global = true)]
    pub outbound_timeout_ms: u64,
    /// The largest response body the outbound client reads, in bytes.
    #[arg(long, env = "OUTBOUND_MAX_BYTES", default_value_t = 2 * 1024 * 1024, global = true)]
    pub outbound_max_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {setting}: {problem}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
}

fn problem(setting: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { setting, problem: problem.into() }
}

impl Settings {
    pub fn is_production(&self) -> bool {
        self.env == AppEnv::Production
    }

    pub fn base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }

    /// Host names accepted in the Host header; development adds the loopback names.
    pub fn allowed_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self.allowed_hosts.iter().map(|h| h.trim().to_lowercase()).collect();
        if !self.is_production() {
            hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(String::from));
            hosts.push(self.bind.ip().to_string());
        }
        if let Some(host) = host_of(&self.base_url()) {
            hosts.push(host);
        }
        hosts.extend(self.admin_host.iter().map(|h| strip_port(h.trim()).to_lowercase()));
        hosts.retain(|h| !h.is_empty());
        hosts
    }

    /// Mail goes to the local outbox, and its viewer is served: development without `SMTP_URL`.
    pub fn outbox_enabled(&self) -> bool {
        !self.is_production() && self.smtp_url.is_none()
    }

    /// An emailed link: `template` (one of the `*_LINK` settings) with `token` in it.
    pub fn link(&self, template: &str, token: &str) -> String {
        let url = template.replace("{token}", token);
        if url.starts_with('/') { format!("{}{url}", self.base_url()) } else { url }
    }

    /// The HTTP server's limits.
    pub fn server_limits(&self) -> crate::kernel::http::server::Limits {
        use std::time::Duration;
        crate::kernel::http::server::Limits {
            header_read: Duration::from_secs(self.header_read_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
            lame_duck: Duration::from_millis(self.lame_duck_ms),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }

    pub fn api_docs_enabled(&self) -> bool {
        self.api_docs.unwrap_or(!self.is_production())
    }

    /// The folder that holds the data: the SQLite file's folder, or the media folder when the
    /// database is elsewhere (canonical when it exists).
    pub fn data_dir(&self) -> std::path::PathBuf {
        let url = self.database_url.expose();
        let sqlite_dir = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .map(|path| path.split('?').next().unwrap_or(path))
            .and_then(|file| std::path::Path::new(file).parent().map(std::path::Path::to_path_buf))
            .filter(|dir| !dir.as_os_str().is_empty());
        let dir = sqlite_dir.unwrap_or_else(|| self.media_dir.clone());
        dir.canonicalize().unwrap_or(dir)
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.expose().starts_with("sqlite:")
    }

    /// Checks every rule at boot so a bad deploy fails fast with the setting's name.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.password_min_length < 8 {
            return Err(problem("PASSWORD_MIN_LENGTH", "must be at least 8"));
        }
        if self.argon2_memory_kib < 19456 {
            return Err(problem("ARGON2_MEMORY_KIB", "argon2id below the OWASP minimum (19456 KiB)"));
        }
        if self.argon2_iterations < 2 {
            return Err(problem("ARGON2_ITERATIONS", "argon2id below the OWASP minimum (2 iterations at 19 MiB)"));
        }
        if self.confirmation_ttl_hours < 1 {
            return Err(problem("CONFIRMATION_TTL_HOURS", "must be at least 1"));
        }
        if self.password_reset_ttl_minutes < 1 {
            return Err(problem("PASSWORD_RESET_TTL_MINUTES", "must be at least 1"));
        }
        if self.session_idle_days < 1 {
            return Err(problem("SESSION_IDLE_DAYS", "must be at least 1"));
        }
        if self.session_max_days < self.session_idle_days {
            return Err(problem("SESSION_MAX_DAYS", "must be at least SESSION_IDLE_DAYS"));
        }
        for (setting, template) in self.link_templates() {
            check_link_template(setting, template, self.is_production().then(|| self.base_url()).as_deref())?;
        }
        self.operations.validate(self.is_production())?;
        self.storage.validate()?;
        self.validate_outbound()?;
        self.validate_sso()?;
        if self.learning_base_url.as_ref().is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://"))) {
            return Err(problem("LEARNING_BASE_URL", "must be an http(s) URL"));
        }
        if !(1..=10_080).contains(&self.learning_refresh_minutes) {
            return Err(problem("LEARNING_REFRESH_MINUTES", "must be between 1 and 10080 (a week)"));
        }
        self.validate_question_home()?;
        if self.is_production() {
            self.validate_production()?;
        }
        Ok(())
    }

    fn link_templates(&self) -> [(&'static str, &str); 3] {
        [
            ("CONFIRM_LINK", &self.confirm_link),
            ("RESET_LINK", &self.reset_link),
            ("EMAIL_CHANGE_LINK", &self.email_change_link),
        ]
    }

    /// The outbound client's bounds: a total timeout under the request timeout (the console's
    /// "test this source" runs inside a request), and a size limit that fits in memory.
    fn validate_outbound(&self) -> Result<(), ConfigError> {
        if !(100..=20_000).contains(&self.outbound_connect_timeout_ms) {
            return Err(problem("OUTBOUND_CONNECT_TIMEOUT_MS", "must be between 100 and 20000"));
        }
        if !(self.outbound_connect_timeout_ms..=25_000).contains(&self.outbound_timeout_ms) {
            return Err(problem("OUTBOUND_TIMEOUT_MS", "must be between OUTBOUND_CONNECT_TIMEOUT_MS and 25000"));
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.outbound_max_bytes) {
            return Err(problem("OUTBOUND_MAX_BYTES", "must be between 1 KiB and 64 MiB"));
        }
        Ok(())
    }

    fn validate_question_home(&self) -> Result<(), ConfigError> {
        let Some(slug) = &self.question_home else { return Ok(()) };
        let valid = !slug.is_empty() && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return Err(problem("QUESTION_HOME", "must be a question's slug (lower-case letters, digits, hyphens)"));
        }
        Ok(())
    }

    fn validate_sso(&self) -> Result<(), ConfigError> {
        let Some(issuer) = &self.oidc_issuer_url else {
            if self.sso_only {
                return Err(problem("SSO_ONLY", "needs OIDC_ISSUER_URL"));
            }
            return Ok(());
        };
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err(problem("OIDC_ISSUER_URL", "must be an http(s) URL"));
        }
        if self.oidc_client_id.trim().is_empty() {
            return Err(problem("OIDC_CLIENT_ID", "set the client id registered with the provider"));
        }
        if self.oidc_client_secret.as_ref().is_none_or(|s| s.expose().is_empty()) {
            return Err(problem("OIDC_CLIENT_SECRET", "set the client secret registered with the provider"));
        }
        if !(1..=60).contains(&self.oidc_timeout_secs) {
            return Err(problem("OIDC_TIMEOUT_SECS", "must be between 1 and 60"));
        }
        if self.is_production() && !issuer.starts_with("https://") {
            return Err(problem("OIDC_ISSUER_URL", "must be an https:// URL in production"));
        }
        if self.is_production() && self.oidc_allowed_domains.iter().all(|d| d.trim().is_empty()) {
            return Err(problem("OIDC_ALLOWED_DOMAINS", "list the email domains that may sign in"));
        }
        Ok(())
    }

    fn validate_production(&self) -> Result<(), ConfigError> {
        let key = self.secret_key.expose();
        if key == DEV_SECRET_KEY || key.chars().count() < MIN_SECRET_LEN {
            return Err(problem("SECRET_KEY", "set a random secret of at least 64 characters"));
        }
        let distinct: std::collections::HashSet<char> = key.chars().collect();
        if distinct.len() < MIN_SECRET_DISTINCT {
            return Err(problem("SECRET_KEY", "too repetitive; use a random secret"));
        }
        if self.allowed_hosts.iter().all(|h| h.trim().is_empty()) {
            return Err(problem("ALLOWED_HOSTS", "list the host names the app serves"));
        }
        if !self.base_url().starts_with("https://") {
            return Err(problem("BASE_URL", "must be an https:// address in production"));
        }
        match &self.smtp_url {
            None if self.mail_outbox => {}
            None => {
                return Err(problem("SMTP_URL", "production sends real email; set an SMTP server"));
            }
            Some(url) if !smtp_url_is_encrypted(url.expose()) => {
                return Err(problem("SMTP_URL", "use smtps:// or smtp://…?tls=required"));
            }
            Some(_) => {}
        }
        if !self.rate_limits {
            return Err(problem("RATE_LIMITS", "rate limits cannot be turned off in production"));
        }
        if self.outbound_allow_loopback {
            return Err(problem("OUTBOUND_ALLOW_LOOPBACK", "outside API calls cannot reach loopback in production"));
        }
        let db = self.database_url.expose();
        if !(db.starts_with("postgres://") || db.starts_with("postgresql://") || db.starts_with("sqlite:")) {
            return Err(problem("DATABASE_URL", "must be a postgres:// or sqlite: URL"));
        }
        Ok(())
    }
}

/// A link template needs `{token}` and must be a path or an http(s) URL; in production (given
/// the base URL) a URL on another host than the base URL's must be https.
fn check_link_template(
    setting: &'static str,
    template: &str,
    production_base: Option<&str>,
) -> Result<(), ConfigError> {
    if !template.contains("{token}") {
        return Err(problem(setting, "must contain {token}"));
    }
    if template.starts_with('/') {
        return Ok(());
    }
    let Some(host) = host_of(template).filter(|_| template.starts_with("https://") || template.starts_with("http://"))
    else {
        return Err(problem(setting, "must be a path (/…) or an http(s):// URL"));
    };
    let foreign = production_base.is_some_and(|base| host_of(base).as_deref() != Some(host.as_str()));
    if foreign && !template.starts_with("https://") {
        return Err(problem(setting, "a link to another host must be https"));
    }
    Ok(())
}

/// Whether mail to this SMTP URL travels encrypted: implicit TLS, or STARTTLS that must succeed.
pub fn smtp_url_is_encrypted(url: &str) -> bool {
    url.starts_with("smtps://") || (url.starts_with("smtp://") && url.contains("tls=required"))
}

/// The lower-cased host (without port) of an absolute URL.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    Some(strip_port(authority).to_lowercase())
}

/// `example.com:443` → `example.com`; `[::1]:80` → `[::1]`.
pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.split(':').next().unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: Settings,
    }

    fn production() -> Settings {
        let mut s = Cli::parse_from(["shoestring"]).settings;
        s.env = AppEnv::Production;
        s.secret_key = Secret::new("k3y-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789");
        s.allowed_hosts = vec!["app.example.com".into()];
        s.base_url = Some("https://app.example.com".into());
        s.smtp_url = Some(Secret::new("smtps://u:p@mail.example.com"));
        s.database_url = Secret::new("postgres://app@localhost/app");
        s
    }

    #[test]
    fn a_complete_production_config_is_accepted() {
        assert!(production().validate().is_ok());
    }

    #[test]
    fn production_refuses_the_development_secret() {
        let mut s = production();
        s.secret_key = Secret::new(DEV_SECRET_KEY);
        assert_eq!(s.validate().unwrap_err().setting, "SECRET_KEY");
    }

    #[test]
    fn production_refuses_missing_smtp_hosts_and_plain_http() {
        let mut s = production();
        s.smtp_url = None;
        assert_eq!(s.validate().unwrap_err().setting, "SMTP_URL");
        let mut s = production();
        s.smtp_url = Some(Secret::new("smtp://mail.example.com"));
        assert_eq!(s.validate().unwrap_err().setting, "SMTP_URL");
        let mut s = production();
        s.allowed_hosts.clear();
        assert_eq!(s.validate().unwrap_err().setting, "ALLOWED_HOSTS");
        let mut s = production();
        s.base_url = Some("http://app.example.com".into());
        assert_eq!(s.validate().unwrap_err().setting, "BASE_URL");
    }

    #[test]
    fn production_without_smtp_runs_only_when_mail_is_kept_in_the_outbox() {
        let mut s = production();
        s.smtp_url = None;
        s.mail_outbox = true;
        assert!(s.validate().is_ok());
        // The development mail viewer stays off: the outbox of a staging copy holds real reset links.
        assert!(!s.outbox_enabled());
    }

    #[test]
    fn production_refuses_to_run_without_rate_limits() {
        let mut s = production();
        s.rate_limits = false;
        assert_eq!(s.validate().unwrap_err().setting, "RATE_LIMITS");
    }

    #[test]
    fn production_refuses_outbound_calls_to_loopback() {
        let mut s = production();
        s.outbound_allow_loopback = true;
        assert_eq!(s.validate().unwrap_err().setting, "OUTBOUND_ALLOW_LOOPBACK");
    }

    #[test]
    fn the_outbound_timeout_stays_under_the_request_timeout() {
        let mut s = production();
        s.outbound_timeout_ms = 60_000;
        assert_eq!(s.validate().unwrap_err().setting, "OUTBOUND_TIMEOUT_MS");
    }

    #[test]
    fn the_question_home_must_look_like_a_slug() {
        let mut s = production();
        s.question_home = Some("/q/tatis/".into());
        assert_eq!(s.validate().unwrap_err().setting, "QUESTION_HOME");
        s.question_home = Some("tatis-2".into());
        assert!(s.validate().is_ok());
    }

    #[test]
    fn password_minimum_never_goes_below_eight() {
        let mut s = production();
        s.password_min_length = 7;
        assert_eq!(s.validate().unwrap_err().setting, "PASSWORD_MIN_LENGTH");
    }

    #[test]
    fn single_sign_on_needs_a_client_and_in_production_https_and_domains() {
        let mut s = production();
        s.sso_only = true;
        assert_eq!(s.validate().unwrap_err().setting, "SSO_ONLY");
        s.oidc_issuer_url = Some("https://login.example.com".into());
        assert_eq!(s.validate().unwrap_err().setting, "OIDC_CLIENT_ID");
        s.oidc_client_id = "shoestring".into();
        assert_eq!(s.validate().unwrap_err().setting, "OIDC_CLIENT_SECRET");
        s.oidc_client_secret = Some(Secret::new("s3cret-🔑"));
        assert_eq!(s.validate().unwrap_err().setting, "OIDC_ALLOWED_DOMAINS");
        s.oidc_allowed_domains = vec!["example.com".into()];
        assert!(s.validate().is_ok());
        s.oidc_issuer_url = Some("http://login.example.com".into());
        assert_eq!(s.validate().unwrap_err().setting, "OIDC_ISSUER_URL");
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn secrets_never_print() {
        let s = production();
        assert!(!format!("{s:?}").contains("k3y-abc"));
    }

    #[test]
    fn link_templates_need_a_token_and_other_hosts_need_https_in_production() {
        let mut s = production();
        s.reset_link = "/update_password.html#id={token}".into();
        assert!(s.validate().is_ok());
        assert_eq!(s.link(&s.reset_link, "abc"), "https://app.example.com/update_password.html#id=abc");
        s.confirm_link = "/api/activate-account/".into();
        assert_eq!(s.validate().unwrap_err().setting, "CONFIRM_LINK");
        let mut s = production();
        s.email_change_link = "http://frontend.example.com/email#{token}".into();
        assert_eq!(s.validate().unwrap_err().setting, "EMAIL_CHANGE_LINK");
        s.email_change_link = "https://frontend.example.com/email#{token}".into();
        assert!(s.validate().is_ok());
        s.reset_link = "javascript:alert('{token}')".into();
        assert_eq!(s.validate().unwrap_err().setting, "RESET_LINK");
    }

    #[test]
    fn hosts_are_taken_from_the_base_url_without_port() {
        assert_eq!(host_of("https://App.Example.com:8443/x").as_deref(), Some("app.example.com"));
        assert_eq!(strip_port("[::1]:8000"), "[::1]");
    }
}
