//! What the built router answers: HSTS (with subdomains and preload), the session and CSRF
//! cookies, cross-site form refusal, framing, nosniff, referrer and opener policies, and a
//! content security policy. Judged on the pages' real headers, so they cannot drift from the code.

use tower_sessions::cookie::SameSite;

use super::{HttpProbe, Page, Probes};
use crate::ops::report::Finding;

const ONE_YEAR: u64 = 31_536_000;

pub fn check(probes: &Probes) -> Vec<Finding> {
    let Some(http) = &probes.http else { return Vec::new() };
    let mut findings = hsts(&http.pages);
    findings.extend([
        session_cookie(http),
        csrf_cookie(&http.pages),
        csrf(http),
        framing(&http.pages),
        nosniff(&http.pages),
        referrer_policy(&http.pages),
        opener_policy(&http.pages),
        content_security_policy(&http.pages),
    ]);
    findings
}

/// The paths of the pages whose header `name` fails `good`.
fn failing<'a>(pages: &'a [Page], name: &str, good: impl Fn(&str) -> bool) -> Vec<&'a str> {
    pages.iter().filter(|p| !p.header(name).is_some_and(&good)).map(|p| p.path.as_str()).collect()
}

fn hsts_max_age(value: &str) -> Option<u64> {
    value.split(';').find_map(|part| part.trim().strip_prefix("max-age=")?.trim_matches('"').parse().ok())
}

fn has_directive(value: &str, directive: &str) -> bool {
    value.split(';').any(|part| part.trim().eq_ignore_ascii_case(directive))
}

fn hsts(pages: &[Page]) -> Vec<Finding> {
    let name = "strict-transport-security";
    let missing = failing(pages, name, |_| true);
    if !missing.is_empty() {
        let message = format!("no Strict-Transport-Security on {}", missing.join(", "));
        return vec![Finding::error("SEC-HSTS", message, "set APP_ENV=production (the app sends HSTS there)")];
    }
    let short = failing(pages, name, |v| hsts_max_age(v).is_some_and(|age| age >= ONE_YEAR));
    let mut findings = vec![if short.is_empty() {
        Finding::ok("SEC-HSTS", "Strict-Transport-Security for a year on every page")
    } else {
        Finding::warning(
            "SEC-HSTS",
            format!("HSTS max-age under a year on {}", short.join(", ")),
            "keep max-age=31536000",
        )
    }];
    let no_subdomains = failing(pages, name, |v| has_directive(v, "includeSubDomains"));
    findings.push(if no_subdomains.is_empty() {
        Finding::ok("SEC-HSTS-SUBDOMAINS", "HSTS covers subdomains")
    } else {
        Finding::warning(
            "SEC-HSTS-SUBDOMAINS",
            "HSTS leaves subdomains out: a subdomain over http can set cookies for the site",
            "send includeSubDomains (the app does in production)",
        )
    });
    let no_preload = failing(pages, name, |v| has_directive(v, "preload"));
    findings.push(if no_preload.is_empty() {
        Finding::ok("SEC-HSTS-PRELOAD", "HSTS asks to be preloaded")
    } else {
        Finding::warning(
            "SEC-HSTS-PRELOAD",
            "HSTS is not preloaded: a browser's very first visit may still go over http",
            "once every subdomain serves https, set HSTS_PRELOAD=true and submit the site at hstspreload.org",
        )
    });
    findings
}

fn session_cookie(http: &HttpProbe) -> Finding {
    let cookie = http.session_cookie;
    let mut wrong = Vec::new();
    if !cookie.name.starts_with("__Host-") {
        wrong.push("no __Host- prefix");
    }
    if !cookie.secure {
        wrong.push("not Secure");
    }
    if !cookie.http_only {
        wrong.push("not HttpOnly");
    }
    if cookie.same_site == SameSite::None {
        wrong.push("SameSite=None");
    }
    if cookie.path != "/" {
        wrong.push("Path is not /");
    }
    if wrong.is_empty() {
        Finding::ok("SEC-SESSION-COOKIE", format!("{}: Secure, HttpOnly, SameSite=Lax, Path=/", cookie.name))
    } else {
        Finding::error(
            "SEC-SESSION-COOKIE",
            format!("session cookie {}: {}", cookie.name, wrong.join(", ")),
            "set APP_ENV=production (cookies are __Host- and Secure there)",
        )
    }
}

/// The `csrftoken` cookie is read by scripts (Django's clients send it back as X-CSRFToken),
/// so it is not HttpOnly; it must still never travel over http.
fn csrf_cookie(pages: &[Page]) -> Finding {
    let cookie = pages.iter().flat_map(Page::set_cookies).find(|c| c.starts_with("csrftoken="));
    match cookie {
        None => {
            Finding::error("SEC-CSRF-COOKIE", "no csrftoken cookie is set", "keep the CSRF middleware in the stack")
        }
        Some(c) if c.split(';').any(|a| a.trim().eq_ignore_ascii_case("Secure")) => {
            Finding::ok("SEC-CSRF-COOKIE", "csrftoken cookie is Secure")
        }
        Some(_) => Finding::error(
            "SEC-CSRF-COOKIE",
            "csrftoken cookie is not Secure",
            "set APP_ENV=production (cookies are Secure there)",
        ),
    }
}

fn csrf(http: &HttpProbe) -> Finding {
    let post = &http.cross_site_post;
    if post.status == 403 {
        Finding::ok("SEC-CSRF", format!("a cross-site POST {} is refused (403)", post.path))
    } else {
        Finding::error(
            "SEC-CSRF",
            format!("a cross-site POST {} answered {}", post.path, post.status),
            "keep CsrfLayer in the middleware stack",
        )
    }
}

fn framing(pages: &[Page]) -> Finding {
    let no_xfo = failing(pages, "x-frame-options", |v| v.eq_ignore_ascii_case("DENY"));
    let no_ancestors = failing(pages, "content-security-policy", |v| {
        v.split(';').any(|d| d.trim().eq_ignore_ascii_case("frame-ancestors 'none'"))
    });
    if !no_xfo.is_empty() {
        Finding::error(
            "SEC-FRAME",
            format!("no X-Frame-Options: DENY on {}", no_xfo.join(", ")),
            "send X-Frame-Options: DENY",
        )
    } else if !no_ancestors.is_empty() {
        Finding::warning(
            "SEC-FRAME",
            format!("no CSP frame-ancestors 'none' on {}", no_ancestors.join(", ")),
            "add frame-ancestors 'none' to the content security policy",
        )
    } else {
        Finding::ok("SEC-FRAME", "X-Frame-Options: DENY and frame-ancestors 'none' on every page")
    }
}

fn nosniff(pages: &[Page]) -> Finding {
    let missing = failing(pages, "x-content-type-options", |v| v.eq_ignore_ascii_case("nosniff"));
    if missing.is_empty() {
        Finding::ok("SEC-NOSNIFF", "X-Content-Type-Options: nosniff on every page")
    } else {
        Finding::error(
            "SEC-NOSNIFF",
            format!("no X-Content-Type-Options: nosniff on {}", missing.join(", ")),
            "send X-Content-Type-Options: nosniff",
        )
    }
}

/// The valid values (Django E023); the ones after `strict-origin-when-cross-origin` send the
/// full URL, tokens in paths included, to other sites.
const REFERRER_POLICIES: [&str; 8] = [
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "origin",
    "origin-when-cross-origin",
    "no-referrer-when-downgrade",
    "unsafe-url",
];

fn referrer_policy(pages: &[Page]) -> Finding {
    let fix = "send Referrer-Policy: strict-origin-when-cross-origin (or stricter)";
    let values: Vec<&str> = pages.iter().filter_map(|p| p.header("referrer-policy")).collect();
    if values.len() < pages.len() {
        return Finding::error("SEC-REFERRER-POLICY", "a page has no Referrer-Policy", fix);
    }
    // A comma-separated list is a fallback chain: the last value the browser knows wins.
    let last = |v: &str| v.rsplit(',').next().unwrap_or(v).trim().to_ascii_lowercase();
    let position = |v: &str| REFERRER_POLICIES.iter().position(|p| *p == last(v));
    if let Some(bad) = values.iter().find(|v| position(v).is_none()) {
        return Finding::error("SEC-REFERRER-POLICY", format!("Referrer-Policy `{bad}` is not a valid policy"), fix);
    }
    if let Some(leaky) = values.iter().find(|v| position(v).is_some_and(|i| i > 3)) {
        return Finding::warning("SEC-REFERRER-POLICY", format!("Referrer-Policy `{leaky}` leaks full URLs"), fix);
    }
    Finding::ok("SEC-REFERRER-POLICY", format!("Referrer-Policy: {}", values.first().copied().unwrap_or_default()))
}

fn opener_policy(pages: &[Page]) -> Finding {
    let fix = "send Cross-Origin-Opener-Policy: same-origin";
    let name = "cross-origin-opener-policy";
    let missing = failing(pages, name, |_| true);
    if !missing.is_empty() {
        return Finding::error("SEC-COOP", format!("no Cross-Origin-Opener-Policy on {}", missing.join(", ")), fix);
    }
    let weak = failing(pages, name, |v| matches!(v.trim(), "same-origin" | "same-origin-allow-popups"));
    if weak.is_empty() {
        Finding::ok("SEC-COOP", "Cross-Origin-Opener-Policy isolates every page from cross-origin openers")
    } else {
        Finding::warning("SEC-COOP", format!("a weak or invalid opener policy on {}", weak.join(", ")), fix)
    }
}

fn content_security_policy(pages: &[Page]) -> Finding {
    let weak = failing(pages, "content-security-policy", |v| {
        v.contains("default-src") && !v.contains("'unsafe-inline'") && !v.contains("'unsafe-eval'")
    });
    if weak.is_empty() {
        Finding::ok("SEC-CSP", "a content security policy without unsafe-inline or unsafe-eval on every page")
    } else {
        Finding::warning(
            "SEC-CSP",
            format!("no strict content security policy on {}", weak.join(", ")),
            "send a CSP with default-src and no 'unsafe-inline' scripts",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::report::Severity;

    fn page(headers: &[(&'static str, &'static str)]) -> Page {
        let mut map = axum::http::HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, axum::http::HeaderValue::from_static(value));
        }
        Page { path: "/".into(), status: 200, headers: map }
    }

    #[test]
    fn a_referrer_policy_must_be_valid_and_should_not_leak_full_urls() {
        let severity = |value| referrer_policy(&[page(&[("referrer-policy", value)])]).severity;
        assert_eq!(severity("strict-origin-when-cross-origin"), Severity::Ok);
        assert_eq!(severity("no-referrer, strict-origin"), Severity::Ok);
        assert_eq!(severity("unsafe-url"), Severity::Warning);
        assert_eq!(severity("same-site"), Severity::Error);
        assert_eq!(referrer_policy(&[page(&[])]).severity, Severity::Error);
    }

    #[test]
    fn framing_needs_x_frame_options_and_prefers_frame_ancestors_too() {
        let both = page(&[
            ("x-frame-options", "DENY"),
            ("content-security-policy", "default-src 'self'; frame-ancestors 'none'"),
        ]);
        assert_eq!(framing(&[both]).severity, Severity::Ok);
        assert_eq!(framing(&[page(&[("x-frame-options", "DENY")])]).severity, Severity::Warning);
        assert_eq!(framing(&[page(&[("x-frame-options", "SAMEORIGIN")])]).severity, Severity::Error);
    }

    #[test]
    fn an_unsafe_opener_policy_is_a_warning_and_none_an_error() {
        assert_eq!(opener_policy(&[page(&[("cross-origin-opener-policy", "same-origin")])]).severity, Severity::Ok);
        assert_eq!(
            opener_policy(&[page(&[("cross-origin-opener-policy", "unsafe-none")])]).severity,
            Severity::Warning
        );
        assert_eq!(opener_policy(&[page(&[])]).severity, Severity::Error);
    }

    #[test]
    fn hsts_max_age_and_directives_are_read_from_the_header() {
        assert_eq!(hsts_max_age("max-age=31536000; includeSubDomains"), Some(31_536_000));
        assert_eq!(hsts_max_age("includeSubDomains"), None);
        assert!(has_directive("max-age=1; includeSubDomains; preload", "preload"));
        assert!(!has_directive("max-age=1; includeSubDomains", "preload"));
    }
}
