//! A site's environment file, `/etc/shoestring/NAME.env` (0640 root:site; systemd reads it before
//! the service drops privileges). Settings derived from the site record are rewritten on every
//! run; the generated secrets (SECRET_KEY, the database passwords) and whatever the operator added
//! are kept, so a second run leaves the file byte for byte as it was. Never /etc/environment.

use std::net::SocketAddr;

use crate::kernel::security::token::random_token;

use super::host::FileSpec;
use super::site::{DbKind, Site};

/// The database password inside a `postgres://role:password@…` URL for `role`, if any.
fn postgres_password<'a>(url: &'a str, role: &str) -> Option<&'a str> {
    let rest = url.strip_prefix(&format!("postgres://{role}:"))?;
    let password = rest.split('@').next()?;
    (!password.is_empty()).then_some(password)
}

/// `KEY=VALUE` lines (comments and blank lines skipped), values unquoted.
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), unquote(v.trim())))
        .collect()
}

fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => value.to_owned(),
    }
}

/// Quotes a value for systemd's EnvironmentFile when it holds anything but plain characters.
pub fn quote(value: &str) -> String {
    let plain = value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.,:/@%+=?&~".contains(c));
    if plain { value.to_owned() } else { format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")) }
}

pub struct Inputs<'a> {
    pub site: &'a Site,
    /// PostgreSQL's port on this host (when the site uses it).
    pub pg_port: Option<u16>,
    pub smtp_url: Option<&'a str>,
}

/// The settings the site record decides, in file order.
fn managed(inputs: &Inputs<'_>, existing: &[(String, String)]) -> Vec<(&'static str, String)> {
    let site = inputs.site;
    let old = |key: &str| existing.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    // A role's URL, keeping the password an earlier run generated (on an app machine, the
    // front machine's run: its env file arrives with `server site join`).
    let postgres_url = |key: &str, role: &str, server: SocketAddr, database: &str| {
        let kept = old(key).and_then(|url| postgres_password(&url, role).map(str::to_owned));
        let password = kept.unwrap_or_else(random_token);
        format!("postgres://{role}:{password}@{server}/{database}")
    };
    let local = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    let (database_url, drill_url) = match (site.db, &site.joined, inputs.pg_port) {
        // Over the private network only with TLS (the front's pg_hba.conf says `hostssl` too);
        // the restore drill and a deploy's rehearsal run on the front machine only.
        (DbKind::Postgres, Some(joined), _) => {
            let url = postgres_url("DATABASE_URL", &site.db_role(), joined.database, &site.db_role());
            (format!("{url}?sslmode=require"), None)
        }
        (DbKind::Postgres, None, Some(port)) => (
            postgres_url("DATABASE_URL", &site.db_role(), local(port), &site.db_role()),
            Some(postgres_url("DRILL_DATABASE_URL", &site.drill_role(), local(port), "postgres")),
        ),
        _ => (format!("sqlite://{}/shoestring.db", site.data_dir()), None),
    };
    // The proxy in front: Caddy here, or the front machine's.
    let proxy = site.joined.as_ref().map_or_else(|| "127.0.0.1".to_owned(), |j| j.database.ip().to_string());
    let mut settings = vec![
        ("APP_ENV", "production".to_owned()),
        ("BIND", format!("{}:{}", site.listen_ip(), site.port)),
        ("METRICS_BIND", format!("127.0.0.1:{}", site.metrics_port())),
        ("BASE_URL", format!("https://{}", site.app_host())),
        ("ALLOWED_HOSTS", format!("{},{}", site.app_host(), site.admin_host())),
        ("ADMIN_HOST", site.admin_host()),
        ("TRUSTED_PROXIES", proxy),
        ("MEDIA_DIR", site.media_dir()),
        ("DATABASE_URL", database_url),
        // Two 256-bit tokens: 86 characters, well over the 64 that production requires.
        ("SECRET_KEY", old("SECRET_KEY").unwrap_or_else(|| random_token() + &random_token())),
    ];
    // The restore drill and a deploy's rehearsal make a scratch database with this role.
    if let Some(url) = drill_url {
        settings.push(("DRILL_DATABASE_URL", url));
    }
    // A staging copy holds production's users: it mails none of them.
    if site.staging.is_some() {
        settings.push(("MAIL_OUTBOX", "true".to_owned()));
    }
    settings
}

/// The file's new text: managed settings first, then the operator's (SMTP_URL, MAIL_FROM, …).
pub fn render(inputs: &Inputs<'_>, existing_text: Option<&str>) -> String {
    let existing = existing_text.map(parse).unwrap_or_default();
    let managed = managed(inputs, &existing);
    let mut out = format!(
        "# Settings of the site {}. The first block is rewritten by `shoestring server site add`\n\
         # (SECRET_KEY and the database password are generated once and kept); add your own below.\n",
        inputs.site.name
    );
    for (key, value) in &managed {
        out.push_str(&format!("{key}={}\n", quote(value)));
    }
    out.push_str("\n# Yours:\n");
    // An app machine's file starts as the front machine's, whose drill role it does not use.
    let foreign = |k: &str| inputs.site.joined.is_some() && k == "DRILL_DATABASE_URL";
    let mut own: Vec<(String, String)> =
        existing.into_iter().filter(|(k, _)| !managed.iter().any(|(m, _)| m == k) && !foreign(k)).collect();
    if let Some(url) = inputs.smtp_url {
        match own.iter_mut().find(|(k, _)| k == "SMTP_URL") {
            Some(entry) => entry.1 = url.to_owned(),
            None => own.push(("SMTP_URL".to_owned(), url.to_owned())),
        }
    }
    if !own.iter().any(|(k, _)| k == "MAIL_FROM") {
        own.push(("MAIL_FROM".to_owned(), format!("Shoestring <noreply@{}>", inputs.site.domain)));
    }
    for (key, value) in own {
        out.push_str(&format!("{key}={}\n", quote(&value)));
    }
    out
}

pub fn spec(site: &Site, content: String) -> FileSpec {
    FileSpec { path: site.env_file(), content, mode: 0o640, owner: "root".into(), group: site.user() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(db: DbKind) -> Site {
        Site { db, ..Site::example("blog", 8101) }
    }

    fn inputs(site: &Site) -> Inputs<'_> {
        Inputs { site, pg_port: Some(5433), smtp_url: Some("smtps://u:p@mail.example.com") }
    }

    fn value(text: &str, key: &str) -> String {
        parse(text).into_iter().find(|(k, _)| k == key).map(|(_, v)| v).unwrap_or_default()
    }

    #[test]
    fn a_new_file_gets_a_long_random_secret_and_the_site_hosts() {
        let site = site(DbKind::Sqlite);
        let text = render(&inputs(&site), None);

        assert!(value(&text, "SECRET_KEY").len() >= 64);
        assert_ne!(value(&text, "SECRET_KEY"), value(&render(&inputs(&site), None), "SECRET_KEY"));
        assert_eq!(value(&text, "ALLOWED_HOSTS"), "app.example.com,p.example.com");
        assert_eq!(value(&text, "TRUSTED_PROXIES"), "127.0.0.1");
        assert_eq!(value(&text, "METRICS_BIND"), "127.0.0.1:9101");
        assert_eq!(value(&text, "DATABASE_URL"), "sqlite:///var/lib/shoestring/blog/shoestring.db");
    }

    #[test]
    fn a_second_render_keeps_the_file_byte_for_byte() {
        let site = site(DbKind::Postgres);
        let first = render(&inputs(&site), None);
        let operator_edit = first.replace("noreply@example.com", "blog@example.com") + "SENTRY_DSN=x\n";

        let second = render(&Inputs { smtp_url: None, ..inputs(&site) }, Some(&operator_edit));
        let again_with_smtp = render(&inputs(&site), Some(&operator_edit));

        assert_eq!(second, operator_edit);
        assert_eq!(again_with_smtp, operator_edit);
        assert!(value(&second, "DATABASE_URL").starts_with("postgres://shoestring_blog:"));
        let drill = value(&second, "DRILL_DATABASE_URL");
        assert!(drill.starts_with("postgres://shoestring_blog_drill:") && drill.ends_with(":5433/postgres"), "{drill}");
        assert_ne!(
            postgres_password(&drill, "shoestring_blog_drill"),
            postgres_password(&value(&second, "DATABASE_URL"), "shoestring_blog")
        );
        assert_eq!(value(&second, "MAIL_FROM"), "Shoestring <blog@example.com>");
    }

    #[test]
    fn an_app_machine_keeps_the_front_machines_secrets_and_points_at_its_database_and_proxy() {
        use crate::ops::server::site::Joined;
        let front = site(DbKind::Postgres);
        let front_text = render(&inputs(&front), None) + "MEDIA_STORE=s3://media/\n";
        let joined = Joined { address: "10.0.0.3".parse().unwrap(), database: "10.0.0.2:5432".parse().unwrap() };
        let member = Site { joined: Some(joined), ..front };

        let text = render(&Inputs { pg_port: None, smtp_url: None, ..inputs(&member) }, Some(&front_text));

        assert_eq!(value(&text, "SECRET_KEY"), value(&front_text, "SECRET_KEY"));
        let password = postgres_password(&value(&front_text, "DATABASE_URL"), "shoestring_blog").unwrap().to_owned();
        assert_eq!(
            value(&text, "DATABASE_URL"),
            format!("postgres://shoestring_blog:{password}@10.0.0.2:5432/shoestring_blog?sslmode=require")
        );
        assert_eq!(value(&text, "TRUSTED_PROXIES"), "10.0.0.2");
        assert_eq!(value(&text, "BIND"), "10.0.0.3:8101");
        assert_eq!(value(&text, "METRICS_BIND"), "127.0.0.1:9101");
        assert_eq!(value(&text, "DRILL_DATABASE_URL"), "");
        assert_eq!(value(&text, "MEDIA_STORE"), "s3://media/");
        assert_eq!(value(&text, "SMTP_URL"), value(&front_text, "SMTP_URL"));
    }

    #[test]
    fn values_with_spaces_or_quotes_are_quoted_for_systemd() {
        assert_eq!(quote("smtps://u:p@h:465"), "smtps://u:p@h:465");
        assert_eq!(quote("A \"B\" <c>"), "\"A \\\"B\\\" <c>\"");
        assert_eq!(unquote(&quote("A \"B\" \\ <c>")), "A \"B\" \\ <c>");
    }

    #[test]
    fn the_password_is_taken_only_from_the_sites_own_role() {
        assert_eq!(
            postgres_password("postgres://shoestring_blog:s3cret@127.0.0.1:5432/x", "shoestring_blog"),
            Some("s3cret")
        );
        assert_eq!(postgres_password("postgres://other:s3cret@127.0.0.1/x", "shoestring_blog"), None);
    }
}
