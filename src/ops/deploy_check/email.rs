//! Mail: an SMTP server is set, reached over TLS, accepts our greeting and login (the test
//! send, from the command line only), and the sender's address is not a local one.

use super::Probes;
use crate::kernel::config::{Settings, smtp_url_is_encrypted};
use crate::ops::report::Finding;

pub fn check(settings: &Settings, probes: &Probes) -> Vec<Finding> {
    if settings.mail_outbox {
        return vec![Finding::ok(
            "OPS-SMTP",
            "MAIL_OUTBOX: every email is kept in the outbox table and none is sent (a staging copy)",
        )];
    }
    let Some(url) = &settings.smtp_url else {
        return vec![
            Finding::error(
                "OPS-SMTP",
                "SMTP_URL is unset: mail stays in the local outbox, nobody gets sign-up or reset links",
                "set SMTP_URL=smtps://user:pass@host:465",
            ),
            mail_from(settings),
        ];
    };
    let tls = if smtp_url_is_encrypted(url.expose()) {
        Finding::ok("OPS-SMTP-TLS", "mail is sent over TLS")
    } else {
        Finding::error(
            "OPS-SMTP-TLS",
            "SMTP_URL allows mail without TLS: passwords and reset links in clear",
            "use smtps://…:465 or smtp://…:587?tls=required",
        )
    };
    let mut findings = vec![Finding::ok("OPS-SMTP", "SMTP_URL is set"), tls];
    findings.extend(test_send(probes));
    findings.push(mail_from(settings));
    findings
}

fn test_send(probes: &Probes) -> Option<Finding> {
    Some(match probes.smtp.as_ref()? {
        Ok(()) => Finding::ok("OPS-SMTP-SEND", "the SMTP server accepted the connection, TLS and login (no mail sent)"),
        Err(err) => Finding::error(
            "OPS-SMTP-SEND",
            format!("the SMTP server could not be used: {err}"),
            "check SMTP_URL's host, port, TLS mode and credentials; then `shoestring send-test-email --to you@…`",
        ),
    })
}

/// Mail from `localhost` (the default) is refused or filed as spam by most receivers.
fn mail_from(settings: &Settings) -> Finding {
    let domain = settings.mail_from.rsplit('@').next().unwrap_or("").trim_end_matches('>').trim().to_ascii_lowercase();
    if domain.is_empty() || domain == "localhost" || domain.ends_with(".localhost") || !domain.contains('.') {
        Finding::warning(
            "OPS-MAIL-FROM",
            format!("MAIL_FROM is at `{domain}`: receivers will reject or junk the mail"),
            "set MAIL_FROM=Name <noreply@your-domain> (with SPF and DKIM for that domain)",
        )
    } else {
        Finding::ok("OPS-MAIL-FROM", format!("mail is sent from {domain}"))
    }
}
