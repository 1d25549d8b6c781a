//! The one Caddyfile of the host, rendered from every site record: app.DOMAIN proxied to the
//! site, the admin host serving only the console (optionally to listed networks), the apex and
//! www. redirected (or served from a folder), HSTS, compression and JSON access logs with
//! rotation. Caddy checks the file before it replaces the old one, then reloads without a restart.
//! A site with several instances is load-balanced over their sockets, each asked `/up` every
//! second: an instance a deploy drains answers 503 there, and Caddy sends it nothing more.

use super::config_step::{ConfigFile, ConfigStep};
use super::host::FileSpec;
use super::site::{Site, Tls};

const CADDYFILE: &str = include_str!("templates/Caddyfile");
const SITE_BLOCK: &str = include_str!("templates/Caddyfile.site");
pub const CADDYFILE_PATH: &str = "/etc/caddy/Caddyfile";

pub fn render(sites: &[Site]) -> String {
    // An app machine's part of a site is proxied by the front machine's Caddy, not this one.
    let blocks: String = sites.iter().filter(|s| s.joined.is_none()).map(site_block).collect();
    CADDYFILE.replace("{{sites}}", &blocks)
}

/// The instances' addresses (here, then on the app machines); for several, how Caddy picks and
/// checks them: in turn, each asked
/// `/up` every second (not `/readyz`: a slow shared database must not take every instance out at
/// once), and one that failed a request passed over for five seconds (the request itself is
/// retried on another, `lb_try_duration`).
fn upstreams(site: &Site) -> (String, String) {
    let addresses: Vec<String> = site.upstreams().iter().map(ToString::to_string).collect();
    let health = match addresses.len() {
        1 => String::new(),
        _ => ["lb_policy round_robin", "health_uri /up", "health_interval 1s", "health_timeout 2s", "fail_duration 5s"]
            .map(|line| format!("\t\t\t{line}\n"))
            .concat(),
    };
    (addresses.join(" "), health)
}

fn site_block(site: &Site) -> String {
    let tls = match site.tls {
        Tls::Acme => "# certificates from Let's Encrypt",
        Tls::Internal => "tls internal",
    };
    let admin_allow = if site.admin_allow.is_empty() {
        String::new()
    } else {
        format!("\t\t@outsider not remote_ip {}\n\t\trespond @outsider 403\n", site.admin_allow.join(" "))
    };
    let apex = match (&site.staging, &site.static_root) {
        // A staging site has no apex of its own: the domain is production's.
        (Some(_), _) => String::new(),
        (None, Some(root)) => apex_block(site, &format!("\troot * {root}\n\tfile_server")),
        (None, None) => apex_block(site, &format!("\tredir https://{}{{uri}} permanent", site.app_host())),
    };
    // A copy of production's data is for the team, not for search engines.
    let staging = if site.staging.is_some() { "\theader X-Robots-Tag \"noindex, nofollow\"\n" } else { "" };
    let (upstreams, health) = upstreams(site);
    SITE_BLOCK
        .replace("{{upstreams}}", &upstreams)
        .replace("{{health}}", &health)
        .replace("{{name}}", &site.name.to_string())
        .replace("{{app_host}}", &site.app_host())
        .replace("{{admin_host}}", &site.admin_host())
        .replace("{{staging}}", staging)
        .replace("{{admin_allow}}", &admin_allow)
        .replace("{{apex}}", &apex)
        .replace("{{tls}}", tls)
}

/// DOMAIN and www.DOMAIN: `body` (a redirect to the app host, or a folder).
fn apex_block(site: &Site, body: &str) -> String {
    format!(
        "\n{domain}, www.{domain} {{\n\t{{{{tls}}}}\n\timport shoestring_common\n{body}\n}}\n",
        domain = site.domain
    )
}

pub fn step(sites: &[Site]) -> ConfigStep {
    let spec = FileSpec::public(CADDYFILE_PATH, render(sites));
    // Validated as the caddy user with its own storage, so a check never leaves root-owned files
    // where the service must write.
    let validate = [
        "runuser",
        "-u",
        "caddy",
        "--",
        "env",
        "HOME=/var/lib/caddy",
        "caddy",
        "validate",
        "--adapter",
        "caddyfile",
        "--config",
        "{}",
    ];
    ConfigStep {
        name: format!("caddy: Caddyfile for {} site(s)", sites.len()),
        files: vec![ConfigFile::validated(spec, &validate)],
        services: vec!["caddy.service".into()],
        reload: vec![["systemctl", "reload-or-restart", "caddy.service"].map(String::from).to_vec()],
        ..ConfigStep::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::server::site::Joined;

    fn site(name: &str, domain: &str, port: u16) -> Site {
        Site { domain: domain.parse().unwrap(), ..Site::example(name, port) }
    }

    fn block<'a>(caddyfile: &'a str, host: &str) -> &'a str {
        let start = caddyfile.find(&format!("\n{host} {{")).unwrap_or_else(|| panic!("no block for {host}"));
        let rest = &caddyfile[start + 1..];
        &rest[..rest.find("\n}\n").unwrap()]
    }

    #[test]
    fn each_site_proxies_its_app_host_to_its_own_port() {
        let file = render(&[site("blog", "example.com", 8101), site("shop", "example.org", 8102)]);

        assert!(block(&file, "app.example.com").contains("reverse_proxy 127.0.0.1:8101"));
        assert!(block(&file, "app.example.org").contains("reverse_proxy 127.0.0.1:8102"));
        assert!(block(&file, "app.example.com").contains("lb_try_duration") || file.contains("lb_try_duration 5s"));
        assert!(block(&file, "example.com, www.example.com").contains("redir https://app.example.com{uri} permanent"));
    }

    #[test]
    fn the_admin_host_proxies_only_the_console_and_refuses_outsiders() {
        let mut blog = site("blog", "example.com", 8101);
        blog.admin_allow = vec!["10.8.0.0/24".into(), "192.0.2.7".into()];
        let file = render(&[blog]);
        let admin = block(&file, "p.example.com");

        assert!(admin.contains("@console path /admin /admin/* /static/admin/*"));
        assert!(admin.contains("reverse_proxy @console 127.0.0.1:8101"));
        assert!(admin.contains("respond 404"));
        let outsider = admin.find("respond @outsider 403").unwrap();
        assert!(outsider < admin.find("reverse_proxy").unwrap(), "the allow-list must come first");
        assert!(admin.contains("not remote_ip 10.8.0.0/24 192.0.2.7"));
        assert!(block(&file, "app.example.com").contains("respond @console 404"));
    }

    #[test]
    fn internal_tls_is_only_where_asked_and_logs_are_json_and_rotated() {
        let mut staging = site("stage", "example.net", 8103);
        staging.tls = Tls::Internal;
        let file = render(&[site("blog", "example.com", 8101), staging]);

        assert!(!block(&file, "app.example.com").contains("tls internal"));
        assert!(block(&file, "app.example.net").contains("tls internal"));
        assert!(block(&file, "app.example.com").contains("format json"));
        assert!(block(&file, "app.example.com").contains("roll_keep 10"));
        assert!(file.contains("Strict-Transport-Security \"max-age=31536000; includeSubDomains\""));
    }

    #[test]
    fn several_instances_are_balanced_and_health_checked_one_instance_is_not() {
        let shop = Site { instances: 2, ..site("shop", "example.org", 8102) };
        let file = render(&[site("blog", "example.com", 8101), shop]);
        let app = block(&file, "app.example.org");
        assert!(app.contains("reverse_proxy 127.0.0.1:8102 127.0.0.1:14102 {"), "{app}");
        assert!(app.contains("health_uri /up") && app.contains("lb_policy round_robin"), "{app}");
        assert!(block(&file, "p.example.org").contains("reverse_proxy @console 127.0.0.1:8102 127.0.0.1:14102 {"));
        // With one instance a failed check would leave Caddy nothing to send requests to.
        assert!(block(&file, "app.example.com").contains("reverse_proxy 127.0.0.1:8101 {"));
        assert!(!block(&file, "app.example.com").contains("health_uri"));
    }

    #[test]
    fn the_front_machine_balances_over_the_app_machines_and_an_app_machine_serves_no_block() {
        let front = Site { app_machines: vec!["10.0.0.3".parse().unwrap()], ..site("shop", "example.org", 8102) };
        let file = render(std::slice::from_ref(&front));
        let app = block(&file, "app.example.org");
        assert!(app.contains("reverse_proxy 127.0.0.1:8102 10.0.0.3:8102 {"), "{app}");
        assert!(app.contains("health_uri /up"), "{app}");
        assert!(block(&file, "p.example.org").contains("reverse_proxy @console 127.0.0.1:8102 10.0.0.3:8102 {"));

        let joined = Joined { address: "10.0.0.3".parse().unwrap(), database: "10.0.0.2:5432".parse().unwrap() };
        let member = Site { app_machines: vec![], joined: Some(joined), ..front };
        assert!(!render(&[member]).contains("example.org"));
    }

    #[test]
    fn a_static_root_replaces_the_apex_redirect() {
        let mut blog = site("blog", "example.com", 8101);
        blog.static_root = Some("/srv/example".into());
        let file = render(&[blog]);
        let apex = block(&file, "example.com, www.example.com");
        assert!(apex.contains("root * /srv/example") && apex.contains("file_server"));
        assert!(!apex.contains("redir"));
    }

    #[test]
    fn a_staging_site_has_two_hosts_under_productions_domain_and_no_apex() {
        use crate::ops::server::site::Staging;
        let label: crate::ops::server::site::StagingLabel = "brave-otter".parse().unwrap();
        let staging = Site {
            name: label.site_name(),
            staging: Some(Staging { of: "blog".parse().unwrap(), label, created_at: 0 }),
            tls: Tls::Internal,
            ..site("x", "example.com", 8102)
        };
        let file = render(&[site("blog", "example.com", 8101), staging]);
        let app = block(&file, "brave-otter.example.com");
        assert!(app.contains("reverse_proxy 127.0.0.1:8102") && app.contains("tls internal"), "{app}");
        assert!(app.contains("X-Robots-Tag \"noindex, nofollow\""), "{app}");
        assert!(block(&file, "p-brave-otter.example.com").contains("reverse_proxy @console 127.0.0.1:8102"));
        assert_eq!(file.matches("\nexample.com, www.example.com {").count(), 1, "{file}");
        assert!(!block(&file, "app.example.com").contains("X-Robots-Tag"));
        assert!(!file.contains("{{"), "{file}");
    }
}
