//! Prometheus metrics, kept per app state (tests run many apps in one process): requests by
//! route template, method and status with latency histograms; logins, sign-ups and emails as
//! they happen; and, read when scraped, the database pool, the job queue and the process
//! (memory, CPU, open files, uptime). Served at `/metrics` on a listener of its own
//! (METRICS_BIND, loopback by default), optionally behind a bearer token.

mod requests;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::kernel::AppState;
pub use requests::{CountRequestsLayer, RequestMetrics};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Status {
    status: &'static str,
}

/// Every metric the app keeps. Counters move where things happen; gauges are read at scrape.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    started: Instant,
    pub requests: Arc<RequestMetrics>,
    /// `ok`, `failed` or `throttled`.
    pub logins: Family<Outcome, Counter>,
    pub signups: Counter,
    /// `sent` or `failed`.
    pub emails: Family<Outcome, Counter>,
    pool: Family<Status, Gauge>,
    pool_max: Gauge,
    db_unavailable: Counter,
    jobs: Family<Status, Gauge>,
    oldest_due_job_seconds: Gauge,
    process: ProcessGauges,
}

#[derive(Debug, Default)]
struct ProcessGauges {
    resident_bytes: Gauge,
    cpu_seconds: Gauge<f64, std::sync::atomic::AtomicU64>,
    open_files: Gauge,
    uptime_seconds: Gauge,
    dropped_log_lines: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("shoestring"),
            started: Instant::now(),
            requests: Arc::default(),
            logins: Family::default(),
            signups: Counter::default(),
            emails: Family::default(),
            pool: Family::default(),
            pool_max: Gauge::default(),
            db_unavailable: Counter::default(),
            jobs: Family::default(),
            oldest_due_job_seconds: Gauge::default(),
            process: ProcessGauges::default(),
        };
        metrics.register();
        // Every outcome from the start, at zero: a series that appears only on its first event
        // makes rates and alerts on it misbehave.
        for outcome in ["ok", "failed", "throttled"] {
            let _ = metrics.logins.get_or_create(&Outcome { outcome });
        }
        for outcome in ["sent", "failed"] {
            let _ = metrics.emails.get_or_create(&Outcome { outcome });
        }
        metrics
    }
}

impl Metrics {
    fn register(&mut self) {
        let r = &mut self.registry;
        r.register_collector(Box::new(self.requests.clone()));
        r.register("logins", "Login attempts by outcome", self.logins.clone());
        r.register("signups", "Accounts created", self.signups.clone());
        r.register("emails", "Emails by outcome", self.emails.clone());
        r.register("db_pool_connections", "Database pool connections by state", self.pool.clone());
        r.register("db_pool_max_connections", "The database pool's size limit", self.pool_max.clone());
        r.register(
            "db_unavailable_answers",
            "Requests answered 503 because no database connection came in time",
            self.db_unavailable.clone(),
        );
        r.register("jobs", "Jobs in the queue by status", self.jobs.clone());
        r.register(
            "jobs_oldest_due_seconds",
            "How long the oldest due job has waited",
            self.oldest_due_job_seconds.clone(),
        );
        let p = &self.process;
        r.register("process_resident_memory_bytes", "Resident memory", p.resident_bytes.clone());
        r.register("process_cpu_seconds", "CPU time used, user and system", p.cpu_seconds.clone());
        r.register("process_open_fds", "Open file descriptors", p.open_files.clone());
        r.register("process_uptime_seconds", "Seconds since the process started", p.uptime_seconds.clone());
        r.register("log_lines_dropped", "Log lines that could not be written", p.dropped_log_lines.clone());
    }

    pub fn login(&self, outcome: &'static str) {
        self.logins.get_or_create(&Outcome { outcome }).inc();
    }

    pub fn email(&self, sent: bool) {
        self.emails.get_or_create(&Outcome { outcome: if sent { "sent" } else { "failed" } }).inc();
    }

    /// Reads the gauges that are measured rather than counted, then renders the text format.
    pub async fn render(&self, state: &AppState) -> String {
        self.read_pool(state);
        if let Err(err) = self.read_jobs(state).await {
            tracing::warn!(error = %err, "metrics: could not read the job queue");
        }
        self.read_process();
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            tracing::warn!("metrics: could not encode");
        }
        text
    }

    fn read_pool(&self, state: &AppState) {
        let size = i64::from(state.db.pool.size());
        let idle = i64::try_from(state.db.pool.num_idle()).unwrap_or(0);
        self.pool.get_or_create(&Status { status: "idle" }).set(idle);
        self.pool.get_or_create(&Status { status: "in_use" }).set(size - idle);
        self.pool_max.set(i64::from(state.db.pool.options().get_max_connections()));
        // Counted where the answer is made (kernel::db::health, process-wide); copied here.
        let unavailable = crate::kernel::db::health::unavailable_answers();
        self.db_unavailable.inner().store(unavailable, std::sync::atomic::Ordering::Relaxed);
    }

    async fn read_jobs(&self, state: &AppState) -> sqlx::Result<()> {
        let now = state.clock.now();
        for (status, count) in crate::kernel::jobs::counts(&state.db).await? {
            self.jobs.get_or_create(&Status { status }).set(count);
        }
        let oldest = crate::kernel::jobs::oldest_due(&state.db, now).await?;
        self.oldest_due_job_seconds.set(oldest.map_or(0, |due| now - due));
        Ok(())
    }

    fn read_process(&self) {
        let p = &self.process;
        p.uptime_seconds.set(i64::try_from(self.started.elapsed().as_secs()).unwrap_or(i64::MAX));
        p.dropped_log_lines.set(i64::try_from(crate::kernel::telemetry::dropped_lines()).unwrap_or(i64::MAX));
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            let rss_kib =
                status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next());
            p.resident_bytes.set(rss_kib.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0) * 1024);
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields 14 and 15 (utime, stime) in clock ticks, after the command name in parentheses.
            let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
            let ticks: f64 = fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
            p.cpu_seconds.set(ticks / rustix::param::clock_ticks_per_second() as f64);
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            p.open_files.set(i64::try_from(entries.count()).unwrap_or(0));
        }
    }
}

/// `GET /metrics`, with `Authorization: Bearer METRICS_TOKEN` when a token is set.
pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.settings.operations.metrics_token {
        let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        let expected = format!("Bearer {}", token.expose());
        if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    let body = state.metrics.render(&state).await;
    let mut response = body.into_response();
    let content_type = HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");
    response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    response
}

/// A listener for `/metrics` on `addr`. The port may be shared (SO_REUSEPORT) so that, during
/// an overlapping restart, the new process serves metrics before the old one has gone.
pub fn listener(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(64)
}

/// Serves `/metrics` on `listener` until `shutdown` turns true.
pub async fn serve(state: AppState, listener: TcpListener, mut shutdown: watch::Receiver<bool>) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
}
