//! Shared machinery: configuration, database, HTTP stack, security, email, jobs, media, telemetry.
//! Nothing in here imports an app; apps build on it.

pub mod alerts;
pub mod audit;
pub mod build_info;
pub mod clock;
pub mod config;
pub mod db;
pub mod email;
pub mod http;
pub mod jobs;
pub mod lifecycle;
pub mod media;
pub mod metrics;
pub mod outbound;
pub mod pagination;
pub mod security;
pub mod session;
pub mod session_cache;
pub mod telemetry;
pub mod validation;

use std::sync::Arc;

use clock::Clock;
use config::Settings;
use db::Db;
use email::Mailer;
use media::{ImageBudget, MediaStore};
use outbound::Outbound;
use security::password::PasswordHasher;
use security::policy::PasswordPolicy;
use security::ratelimit::RateLimits;

/// How long an upload waits for image memory before it is answered 503.
const IMAGE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Everything a handler or job may need, wired once at boot (tests build many side by side).
/// Cloned into every middleware and handler of every request, so it is one shared pointer:
/// cloning the services field by field was a quarter of the landing page's CPU time.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Services>);

#[derive(Clone, Debug)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub clock: Clock,
    pub mailer: Mailer,
    pub passwords: PasswordHasher,
    pub policy: Arc<PasswordPolicy>,
    pub limits: Arc<RateLimits>,
    pub allowed_hosts: Arc<Vec<String>>,
    pub media: Arc<dyn MediaStore>,
    pub images: Arc<ImageBudget>,
    pub metrics: Arc<metrics::Metrics>,
    /// The client for outside APIs.
    pub outbound: Outbound,
    /// Error mail and error tracking.
    pub alerts: alerts::Alerts,
    /// Signed-in sessions and their users, in memory while the change feed is live.
    pub sessions: session_cache::SessionCache,
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

impl From<Services> for AppState {
    fn from(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl AppState {
    /// Sends an email now (from a job: requests enqueue instead), counted in the metrics.
    pub async fn send_email(&self, message: &email::Message) -> anyhow::Result<()> {
        let sent = self.mailer.send(message).await;
        self.metrics.email(sent.is_ok());
        sent
    }

    /// Connects to the database (without migrating) and builds the shared services.
    pub async fn build(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        settings.validate()?;
        let db = Db::connect(settings.database_url.expose()).await?;
        let mailer = Mailer::from_settings(&settings, &db, &clock)?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let passwords = PasswordHasher::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            // Half the cores by default: a login flood then always leaves the other half free.
            settings.hash_concurrency.unwrap_or((cores / 2).max(1)),
        )?;
        Ok(Self::from(Services {
            policy: Arc::new(PasswordPolicy::new(settings.password_min_length)),
            allowed_hosts: Arc::new(settings.allowed_hosts()),
            media: media::open_store(&settings)?,
            images: Arc::new(ImageBudget::new(settings.image_memory_mb, IMAGE_WAIT)),
            metrics: Arc::new(metrics::Metrics::default()),
            outbound: Outbound::from_settings(&settings)?,
            alerts: alerts::Alerts::new(&settings, db.clone(), clock.clone())?,
            limits: Arc::new(RateLimits::new(settings.rate_limits)),
            sessions: session_cache::SessionCache::new(&db.changes),
            settings: Arc::new(settings),
            db,
            clock,
            mailer,
            passwords,
        }))
    }
}
