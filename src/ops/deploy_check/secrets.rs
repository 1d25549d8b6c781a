//! The settings Django's `check --deploy` looks at first: production mode (DEBUG), the secret
//! key's length and randomness, allowed hosts, an https base URL, and no development routes.

use std::collections::HashMap;

use super::Probes;
use crate::kernel::config::{DEV_SECRET_KEY, MIN_SECRET_DISTINCT, MIN_SECRET_LEN, Settings};
use crate::ops::report::Finding;

/// Below this many bits (estimated from the characters' spread) a key is guessable.
const MIN_SECRET_BITS: f64 = 128.0;

pub fn check(settings: &Settings, probes: &Probes) -> Vec<Finding> {
    vec![
        environment(settings),
        secret_key(settings.secret_key.expose()),
        allowed_hosts(settings),
        base_url(settings),
        dev_routes(settings, probes),
        api_docs(settings),
    ]
}

fn environment(settings: &Settings) -> Finding {
    if settings.is_production() {
        Finding::ok("SEC-ENV", "APP_ENV is production")
    } else {
        Finding::error(
            "SEC-ENV",
            "APP_ENV is development: relaxed checks, insecure cookies, no HSTS",
            "set APP_ENV=production",
        )
    }
}

pub fn secret_key(key: &str) -> Finding {
    let fix = "set SECRET_KEY to at least 64 random characters, e.g. `openssl rand -base64 48`";
    let length = key.chars().count();
    let bits = estimated_bits(key);
    let distinct = key.chars().collect::<std::collections::HashSet<_>>().len();
    if key == DEV_SECRET_KEY {
        Finding::error("SEC-SECRET-KEY", "SECRET_KEY is the development key", fix)
    } else if length < MIN_SECRET_LEN {
        Finding::error(
            "SEC-SECRET-KEY",
            format!("SECRET_KEY has {length} characters, fewer than {MIN_SECRET_LEN}"),
            fix,
        )
    } else if distinct < MIN_SECRET_DISTINCT || bits < MIN_SECRET_BITS {
        Finding::error(
            "SEC-SECRET-KEY",
            format!("SECRET_KEY is too repetitive: {distinct} different characters, about {bits:.0} bits"),
            fix,
        )
    } else {
        Finding::ok("SEC-SECRET-KEY", format!("SECRET_KEY has {length} characters, about {bits:.0} bits"))
    }
}

/// Shannon entropy of the key's characters times its length: an upper bound on its
/// randomness that catches repeated and few-letter keys (a random key comes close to it).
fn estimated_bits(key: &str) -> f64 {
    let mut counts: HashMap<char, usize> = HashMap::new();
    for c in key.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let total = key.chars().count() as f64;
    let per_char: f64 = counts.values().map(|&n| n as f64 / total).map(|p| -p * p.log2()).sum();
    per_char * total
}

fn allowed_hosts(settings: &Settings) -> Finding {
    let hosts: Vec<&str> = settings.allowed_hosts.iter().map(|h| h.trim()).filter(|h| !h.is_empty()).collect();
    if hosts.is_empty() {
        Finding::error(
            "SEC-ALLOWED-HOSTS",
            "ALLOWED_HOSTS is empty",
            "set ALLOWED_HOSTS to the host names the site serves, comma-separated",
        )
    } else {
        Finding::ok("SEC-ALLOWED-HOSTS", format!("answers only for {}", hosts.join(", ")))
    }
}

fn base_url(settings: &Settings) -> Finding {
    let url = settings.base_url();
    if url.starts_with("https://") {
        Finding::ok("SEC-BASE-URL", format!("emailed links start with {url}"))
    } else {
        Finding::error(
            "SEC-BASE-URL",
            format!("BASE_URL is {url}: emailed links and tokens would travel unencrypted"),
            "set BASE_URL=https://your-host",
        )
    }
}

/// The development mail viewer shows every email sent, reset links included. The router's
/// answer is the proof when it was asked; the setting otherwise.
fn dev_routes(settings: &Settings, probes: &Probes) -> Finding {
    let served = match &probes.http {
        Some(http) => http.dev_outbox.status != 404,
        None => settings.outbox_enabled(),
    };
    if served {
        Finding::error(
            "SEC-DEV-ROUTES",
            "the development mail viewer /dev/outbox/ is served",
            "set APP_ENV=production and SMTP_URL",
        )
    } else {
        Finding::ok("SEC-DEV-ROUTES", "no development routes (/dev/outbox/ answers 404)")
    }
}

fn api_docs(settings: &Settings) -> Finding {
    if settings.api_docs_enabled() && settings.is_production() {
        Finding::warning(
            "SEC-API-DOCS",
            "Swagger UI, GraphiQL and GraphQL introspection are served",
            "unset API_DOCS unless the API is public on purpose",
        )
    } else if settings.api_docs_enabled() {
        Finding::info("SEC-API-DOCS", "API documentation is on (off by default in production)")
    } else {
        Finding::ok("SEC-API-DOCS", "API documentation and GraphQL introspection are off")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::report::Severity;

    #[test]
    fn a_random_key_passes_and_short_repetitive_or_default_keys_fail() {
        let random = "Zq3v9Lw0pXk2Rj8sTn4yHc6bMf1gDa5eUo7iWl-Q_rPt3uVx9zKm2NbYc8JhGdSe";
        assert_eq!(secret_key(random).severity, Severity::Ok);
        assert_eq!(secret_key("short").severity, Severity::Error);
        assert_eq!(secret_key(DEV_SECRET_KEY).severity, Severity::Error);
        assert_eq!(secret_key(&"ab".repeat(40)).severity, Severity::Error);
        let few_letters = format!("{}{}", "a".repeat(60), "bcdefghijklmnopq");
        assert!(secret_key(&few_letters).message.contains("repetitive"));
    }

    #[test]
    fn the_estimate_is_about_log2_of_the_alphabet_per_character() {
        let hex: String = (0..64).map(|i| char::from_digit(i % 16, 16).unwrap()).collect();
        assert!((estimated_bits(&hex) - 256.0).abs() < 1e-9);
    }
}
