//! Logging: readable lines in development, one JSON object per line in production. Each
//! request's span carries its id (`x-request-id`), so every line of a request can be found.
//! Never log passwords, tokens, cookies or raw request bodies. A log that cannot be written
//! (a full disk, a closed pipe) never stops the app: the line is dropped and counted.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

static DROPPED_LINES: AtomicU64 = AtomicU64::new(0);

pub fn init(json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    // `log_internal_errors(false)`: tracing-subscriber would report a failed write on stderr,
    // which panics when stderr fails too.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(Stdout)
        .log_internal_errors(false);
    // A second init (tests boot many apps in one process) is harmless: keep the first.
    let _ = if json {
        builder.json().with_current_span(true).with_span_list(false).try_init()
    } else {
        builder.compact().try_init()
    };
}

/// Log lines that could not be written since the process started.
pub fn dropped_lines() -> u64 {
    DROPPED_LINES.load(Ordering::Relaxed)
}

/// Standard output that never fails: a line it cannot write is counted and dropped.
struct Stdout;

impl<'a> MakeWriter<'a> for Stdout {
    type Writer = Stdout;

    fn make_writer(&'a self) -> Self::Writer {
        Stdout
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::io::stdout().lock().write_all(buf).is_err() {
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stdout().lock().flush();
        Ok(())
    }
}
