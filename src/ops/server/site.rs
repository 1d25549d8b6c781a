//! A site: one instance of the app with its own domain, system user, data folder, secrets,
//! units and (optionally) PostgreSQL database. Sites share Caddy and PostgreSQL and nothing else.
//! The record of each lives in `/etc/shoestring/sites/NAME.json` (no secrets in it).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::host::{FileSpec, Host};

pub const SITES_DIR: &str = "/etc/shoestring/sites";
pub const FIRST_PORT: u16 = 8101;

/// A site name: a lower-case letter then up to 15 letters or digits, so that the system user
/// (`shoestring-NAME`), the units and the PostgreSQL role (`shoestring_NAME`) are all valid.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteName(String);

impl FromStr for SiteName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if first_ok && s.len() <= 16 && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!("site name {s:?}: a lower-case letter, then up to 15 lower-case letters or digits"))
        }
    }
}

impl TryFrom<String> for SiteName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SiteName> for String {
    fn from(name: SiteName) -> String {
        name.0
    }
}

impl fmt::Display for SiteName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registrable domain such as `example.com`: the site answers on app., www., p. and the apex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Domain(String);

impl FromStr for Domain {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().trim_end_matches('.').to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if s.len() <= 240 && s.contains('.') && s.split('.').all(label_ok) {
            Ok(Self(s))
        } else {
            Err(format!("domain {s:?}: a name such as example.com (letters, digits, hyphens, dots)"))
        }
    }
}

impl TryFrom<String> for Domain {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Domain> for String {
    fn from(domain: Domain) -> String {
        domain.0
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// `acme`: certificates from Let's Encrypt (production). `internal`: Caddy's own CA (tests, staging).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    Acme,
    Internal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    pub name: SiteName,
    pub domain: Domain,
    pub db: DbKind,
    pub tls: Tls,
    /// The loopback port its socket unit listens on; Caddy proxies to it.
    pub port: u16,
    /// Client networks allowed on the admin host; empty: everyone.
    #[serde(default)]
    pub admin_allow: Vec<String>,
    /// A folder served on the apex and www. instead of a redirect to app.
    #[serde(default)]
    pub static_root: Option<String>,
    /// How many copies of the app serve it, each on its own socket (more than one: PostgreSQL).
    #[serde(default = "one_instance")]
    pub instances: u8,
    /// Set on a staging copy of another site (`shoestring deploy --staging`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging: Option<Staging>,
    /// On the front machine: the private addresses of the app machines that also run this site,
    /// each with the same instances; Caddy here balances over theirs and ours, and they reach
    /// this machine's PostgreSQL (`server site join`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_machines: Vec<IpAddr>,
    /// On an app machine: the site as it runs on the front machine, whose Caddy proxies to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined: Option<Joined>,
}

/// An app machine's part in a site served by several machines: its instances listen on its
/// private address (open to the front machine only) and use the front machine's PostgreSQL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    /// This machine's address on the private network.
    pub address: IpAddr,
    /// The front machine's PostgreSQL on the private network; its address is the proxy's.
    pub database: SocketAddr,
}

/// A staging site: a copy of site `of`'s data answering on `LABEL.DOMAIN` (and its console on
/// `p-LABEL.DOMAIN`), names one wildcard DNS record covers. It sends no mail (MAIL_OUTBOX).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staging {
    pub of: SiteName,
    /// Two words, e.g. `brave-otter`.
    pub label: StagingLabel,
    /// When it was made (Unix seconds): `server check` warns about a copy kept for days.
    pub created_at: i64,
}

/// Two lower-case words joined by a hyphen: one DNS label, and without the hyphen a site name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StagingLabel(String);

impl StagingLabel {
    /// The site name the label makes: its words run together (`braveotter`).
    pub fn site_name(&self) -> SiteName {
        SiteName(self.0.replace('-', ""))
    }
}

impl FromStr for StagingLabel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase());
        match s.split_once('-') {
            Some((a, b)) if word(a) && word(b) && a.len() + b.len() <= 16 => Ok(Self(s.to_owned())),
            _ => Err(format!("staging label {s:?}: two lower-case words joined by a hyphen")),
        }
    }
}

impl TryFrom<String> for StagingLabel {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<StagingLabel> for String {
    fn from(label: StagingLabel) -> String {
        label.0
    }
}

impl fmt::Display for StagingLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn one_instance() -> u8 {
    1
}

/// The most instances a site may have: their ports stay below the ephemeral range (32768).
pub const MAX_INSTANCES: u8 = 4;
/// Instance k (from 1) listens on the site's port + (k − 1) × this, its metrics 1000 above that:
/// 8101, 14101, 20101, 26101 for the first site, never another site's port while sites stay
/// below a thousand.
const INSTANCE_PORT_STEP: u16 = 6000;

/// One copy of a site's app: its units and its ports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub number: u8,
    /// `shoestring-NAME` for the first (as a site with one instance always had), `shoestring-NAME-K` after.
    pub unit: String,
    /// Where its socket listens: loopback, or an app machine's private address.
    pub ip: IpAddr,
    pub port: u16,
    pub metrics_port: u16,
}

impl Instance {
    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }
    pub fn service(&self) -> String {
        format!("{}.service", self.unit)
    }
    pub fn socket(&self) -> String {
        format!("{}.socket", self.unit)
    }
    /// While this file exists the instance's `/up` answers 503 and Caddy sends it nothing
    /// (DRAIN_FILE); in /run, so a reboot never leaves an instance drained.
    pub fn drain_file(&self) -> String {
        format!("/run/shoestring/{}.drain", self.unit)
    }
}

impl Site {
    pub fn user(&self) -> String {
        format!("shoestring-{}", self.name)
    }
    pub fn unit(&self) -> String {
        format!("shoestring-{}", self.name)
    }
    pub fn data_dir(&self) -> String {
        format!("/var/lib/shoestring/{}", self.name)
    }
    /// Uploads (MEDIA_DIR): made by the setup, so a PostgreSQL site's data folder exists and is
    /// private before its first upload.
    pub fn media_dir(&self) -> String {
        format!("{}/media", self.data_dir())
    }
    /// Where a deploy's backup goes when the site has no BACKUP_TO (and a staging copy's always).
    pub fn backups_dir(&self) -> String {
        format!("{}/backups", self.data_dir())
    }
    pub fn env_file(&self) -> String {
        format!("/etc/shoestring/{}.env", self.name)
    }
    pub fn record_path(&self) -> String {
        format!("{SITES_DIR}/{}.json", self.name)
    }
    pub fn app_host(&self) -> String {
        match &self.staging {
            Some(staging) => format!("{}.{}", staging.label, self.domain),
            None => format!("app.{}", self.domain),
        }
    }
    pub fn admin_host(&self) -> String {
        match &self.staging {
            Some(staging) => format!("p-{}.{}", staging.label, self.domain),
            None => format!("p.{}", self.domain),
        }
    }
    pub fn db_role(&self) -> String {
        format!("shoestring_{}", self.name)
    }
    /// The role that creates the restore drill's scratch databases (CREATEDB, nothing else).
    pub fn drill_role(&self) -> String {
        format!("shoestring_{}_drill", self.name)
    }
    /// Its instances, the first always there.
    pub fn instances(&self) -> Vec<Instance> {
        (1..=self.instances.clamp(1, MAX_INSTANCES)).map(|k| self.instance(k)).collect()
    }

    /// Instance `k` (from 1), whether or not the site runs it (units left by a larger count).
    pub fn instance(&self, k: u8) -> Instance {
        let port = self.port + INSTANCE_PORT_STEP * u16::from(k - 1);
        let unit = if k == 1 { self.unit() } else { format!("{}-{k}", self.unit()) };
        Instance { number: k, unit, ip: self.listen_ip(), port, metrics_port: port + 1000 }
    }

    /// The address its sockets listen on: loopback, or on an app machine its private address.
    pub fn listen_ip(&self) -> IpAddr {
        self.joined.as_ref().map_or(IpAddr::from([127, 0, 0, 1]), |j| j.address)
    }

    /// Every address Caddy on the front machine proxies to: this machine's instances, then each
    /// app machine's.
    pub fn upstreams(&self) -> Vec<SocketAddr> {
        let here = self.instances().into_iter().map(|i| i.address());
        let there =
            self.app_machines.iter().flat_map(|ip| self.instances().into_iter().map(|i| SocketAddr::new(*ip, i.port)));
        here.chain(there).collect()
    }

    /// Whether its database is this machine's PostgreSQL (an app machine's is the front's).
    pub fn local_postgres(&self) -> bool {
        self.db == DbKind::Postgres && self.joined.is_none()
    }

    /// Whether another instance (here or on another machine) serves while one restarts: a deploy
    /// then drains each before its restart.
    pub fn shares_traffic(&self) -> bool {
        self.instances > 1 || !self.app_machines.is_empty() || self.joined.is_some()
    }

    /// Its `/metrics` port on loopback: the site's port plus 1000 (8101 → 9101), so two sites never
    /// share one and none takes 9100, the node exporter's. Site ports start at 8101, far from the top.
    pub fn metrics_port(&self) -> u16 {
        self.port + 1000
    }

    /// `/opt/shoestring/sites/NAME`: its `current` release link, deploy lock and deploy history.
    pub fn deploy_dir(&self) -> String {
        format!("/opt/shoestring/sites/{}", self.name)
    }
    pub fn current_link(&self) -> String {
        format!("{}/current", self.deploy_dir())
    }
    /// The binary its service starts: the current release's.
    pub fn current_binary(&self) -> String {
        format!("{}/shoestring", self.current_link())
    }

    /// The command line that runs `binary args…` as the site (its user, env file and data folder,
    /// as its service does) in a transient unit, with the output on ours. At nice 10: a backup,
    /// a deploy's rehearsal or a check takes the CPU the site's own instances leave.
    pub fn command_as_site(&self, binary: &str, args: &[&str]) -> Vec<String> {
        self.command_as_site_with(binary, args, &[])
    }

    /// `command_as_site` with more env files read after the site's own (root-only files that
    /// hand one command a setting the site's file does not hold).
    pub fn command_as_site_with(&self, binary: &str, args: &[&str], env_files: &[&str]) -> Vec<String> {
        let mut argv: Vec<String> =
            ["systemd-run", "--quiet", "--wait", "--pipe", "--collect", "--nice=10"].map(String::from).into();
        argv.push(format!("--property=User={}", self.user()));
        argv.push(format!("--property=EnvironmentFile={}", self.env_file()));
        argv.extend(env_files.iter().map(|file| format!("--property=EnvironmentFile={file}")));
        argv.push(format!("--property=WorkingDirectory={}", self.data_dir()));
        argv.push(binary.to_owned());
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        argv
    }

    pub fn record(&self) -> anyhow::Result<FileSpec> {
        Ok(FileSpec::public(&self.record_path(), serde_json::to_string_pretty(self)? + "\n"))
    }
}

#[cfg(test)]
impl Site {
    /// A SQLite site `name` on example.com with an ACME certificate, for tests.
    pub fn example(name: &str, port: u16) -> Self {
        Site {
            name: name.parse().unwrap(),
            domain: "example.com".parse().unwrap(),
            db: DbKind::Sqlite,
            tls: Tls::Acme,
            port,
            admin_allow: vec![],
            static_root: None,
            instances: 1,
            staging: None,
            app_machines: vec![],
            joined: None,
        }
    }
}

/// Every site recorded on the host, sorted by name.
pub fn load_all(host: &Host) -> anyhow::Result<Vec<Site>> {
    let dir = host.path(SITES_DIR);
    let mut sites = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(sites) };
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let site: Site = serde_json::from_str(&text).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
        sites.push(site);
    }
    sites.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sites)
}

/// The lowest port from `FIRST_PORT` that no other site uses.
pub fn free_port(sites: &[Site], name: &SiteName) -> u16 {
    if let Some(existing) = sites.iter().find(|s| &s.name == name) {
        return existing.port;
    }
    (FIRST_PORT..).find(|port| sites.iter().all(|s| s.port != *port)).unwrap_or(FIRST_PORT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str, port: u16) -> Site {
        Site::example(name, port)
    }

    #[test]
    fn site_names_fit_users_units_and_database_roles() {
        assert!("blog2".parse::<SiteName>().is_ok());
        for bad in ["", "2blog", "Blog", "my-blog", "my_blog", "a234567890abcdefg", "../x"] {
            assert!(bad.parse::<SiteName>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn domains_are_lower_cased_and_checked_label_by_label() {
        assert_eq!("Example.COM.".parse::<Domain>().unwrap().to_string(), "example.com");
        for bad in ["localhost", "exa mple.com", "-x.com", "x..com", "x.com/evil", "x.com\n}"] {
            assert!(bad.parse::<Domain>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn ports_are_kept_for_a_known_site_and_never_shared() {
        let sites = vec![site("a", 8101), site("c", 8103)];
        assert_eq!(free_port(&sites, &"c".parse().unwrap()), 8103);
        assert_eq!(free_port(&sites, &"b".parse().unwrap()), 8102);
    }

    #[test]
    fn instances_have_their_own_units_and_ports_apart_from_every_other_sites() {
        let blog = Site { instances: 3, ..site("blog", 8101) };
        let ports: Vec<(String, u16, u16)> =
            blog.instances().into_iter().map(|i| (i.unit, i.port, i.metrics_port)).collect();
        assert_eq!(
            ports,
            [
                ("shoestring-blog".to_owned(), 8101, 9101),
                ("shoestring-blog-2".to_owned(), 14101, 15101),
                ("shoestring-blog-3".to_owned(), 20101, 21101)
            ]
        );
        // The last instance of the thousandth site still ends below the next instance's first port.
        let last = Site { instances: MAX_INSTANCES, ..site("zz", FIRST_PORT + 999) };
        let top = last.instance(MAX_INSTANCES);
        assert!(top.metrics_port < 32768, "{top:?}");
        assert!(last.instance(1).metrics_port < blog.instance(2).port);
    }

    #[test]
    fn a_staging_site_answers_on_its_two_words_under_the_production_domain() {
        let label: StagingLabel = "brave-otter".parse().unwrap();
        let staging = Site {
            name: label.site_name(),
            staging: Some(Staging { of: "blog".parse().unwrap(), label, created_at: 0 }),
            ..site("x", 8102)
        };
        assert_eq!(staging.name.to_string(), "braveotter");
        assert_eq!(staging.app_host(), "brave-otter.example.com");
        assert_eq!(staging.admin_host(), "p-brave-otter.example.com");
        for bad in ["brave", "brave-", "Brave-otter", "brave-otter-x", "brave-ott3r", "abcdefghi-abcdefghi"] {
            assert!(bad.parse::<StagingLabel>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_record_without_instances_has_one() {
        let mut json: serde_json::Value = serde_json::to_value(site("blog", 8101)).unwrap();
        json.as_object_mut().unwrap().remove("instances");
        assert_eq!(serde_json::from_value::<Site>(json).unwrap().instances().len(), 1);
    }

    #[test]
    fn a_record_round_trips_and_a_tampered_name_is_refused() {
        let json = serde_json::to_string(&site("blog", 8101)).unwrap();
        assert_eq!(serde_json::from_str::<Site>(&json).unwrap(), site("blog", 8101));
        assert!(serde_json::from_str::<Site>(&json.replace("\"blog\"", "\"../etc\"")).is_err());
    }
}
