//! Logging: readable lines in development, one JSON object per line in production. Each
//! request's span carries its id (`x-request-id`), so every line of a request can be found.
//! Never log passwords, tokens, cookies or raw request bodies.

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi);
    // A second init (tests boot many apps in one process) is harmless: keep the first.
    let _ = if json {
        builder.json().with_current_span(true).with_span_list(false).try_init()
    } else {
        builder.compact().try_init()
    };
}
