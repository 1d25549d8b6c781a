//! The `shoestring server …` command line: what each subcommand accepts, checked at the edge into
//! types that cannot be invalid (site names, domains, networks, user names).

use std::net::IpAddr;

use clap::{Args, Subcommand, ValueEnum};

use super::site::{DbKind, Domain, SiteName, Tls};

#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(subcommand)]
    pub command: ServerCommand,
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Secure this Debian/Ubuntu machine and serve its sites over HTTPS (safe to run again).
    Setup(SetupArgs),
    /// Add, list or remove the sites this machine serves.
    Site {
        #[command(subcommand)]
        command: SiteCommand,
    },
    /// Check the host (SSH, firewall, fail2ban, upgrades, units, certificates) and report.
    Check(Common),
    /// Print cloud-init user-data doing the host part of `setup` at a server's first boot.
    CloudInit(CloudInitArgs),
    /// Create the sudo user only (the first step when driven over SSH).
    #[command(hide = true)]
    AdminUser {
        #[arg(long, value_parser = admin_user)]
        admin_user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Add a site, or bring an existing one back to its wanted state.
    Add(SiteAddArgs),
    /// List the sites with their domain, database, port and state.
    List(Common),
    /// Run a PostgreSQL site on one more machine (--host), behind the Caddy and on the database
    /// of the machine that serves it now (--front), reached over a private network.
    Join(JoinArgs),
    /// Take an app machine (--host) out of a site on several machines: the front machine (--front)
    /// stops sending it requests and letting it into PostgreSQL, and the site is purged from it.
    Leave(JoinArgs),
    /// On the front machine: let an app machine serve the site, or with --remove no longer
    /// (`join` and `leave` run this).
    #[command(hide = true)]
    Admit {
        name: SiteName,
        #[arg(long)]
        address: IpAddr,
        #[arg(long)]
        remove: bool,
    },
    /// On the front machine: the site's record and settings for a new app machine, as JSON.
    #[command(hide = true)]
    Export { name: SiteName },
    /// On the new app machine: set the site up from an export on stdin (`join` runs this).
    #[command(hide = true)]
    Accept {
        name: SiteName,
        #[arg(long)]
        address: IpAddr,
        #[arg(long)]
        front_address: IpAddr,
    },
    /// Stop and remove a site's units and proxy entry; its data stays unless --purge.
    Remove {
        name: SiteName,
        /// Also delete its data folder, env file, system user and PostgreSQL database.
        #[arg(long)]
        purge: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Run on this server over SSH (as root, or a user with sudo), copying this binary there first.
    #[arg(long, value_name = "USER@HOST")]
    pub host: Option<String>,
    /// An `ssh -o` option for the connections of --host (repeatable).
    #[arg(long = "ssh-option", value_name = "OPTION")]
    pub ssh_options: Vec<String>,
    /// Print what would change and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the closing report as JSON (step lines go to stderr).
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    /// Packages (needs the network), then configuration.
    All,
    /// Install the packages only.
    Packages,
    /// Configure only; works offline once the packages are installed.
    Configure,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub common: Common,
    /// The sudo user who logs in once root cannot (gets root's SSH keys).
    #[arg(long, value_parser = admin_user)]
    pub admin_user: String,
    #[arg(long, value_enum, default_value = "all")]
    pub phase: Phase,
    /// Also add (or update) a site for this domain: app.DOMAIN, p.DOMAIN, DOMAIN and www.DOMAIN.
    #[arg(long)]
    pub domain: Option<Domain>,
    #[command(flatten)]
    pub site: SiteOptions,
}

#[derive(Debug, Args)]
pub struct SiteAddArgs {
    pub name: SiteName,
    #[arg(long)]
    pub domain: Domain,
    #[command(flatten)]
    pub site: SiteOptions,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    pub name: SiteName,
    /// The machine that serves the site now, with its Caddy and PostgreSQL.
    #[arg(long, value_name = "USER@HOST")]
    pub front: String,
    /// The app machine's address on the private network; the front machine reaches it there.
    #[arg(long)]
    pub address: IpAddr,
    /// The front machine's address on the private network (default: the host of --front; not
    /// used by leave).
    #[arg(long)]
    pub front_address: Option<IpAddr>,
    /// --host is the app machine.
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, Clone, Args)]
pub struct SiteOptions {
    /// The site's name with --domain (default: the domain's first label).
    #[arg(long = "site")]
    pub site_name: Option<SiteName>,
    #[arg(long, value_enum, default_value = "sqlite")]
    pub db: DbKind,
    /// `acme` (Let's Encrypt) in production; `internal` (Caddy's own CA) for tests and staging.
    #[arg(long, value_enum, default_value = "acme")]
    pub tls: Tls,
    /// Networks allowed on the admin host p.DOMAIN, e.g. a VPN's 10.8.0.0/24 (repeatable).
    #[arg(long = "admin-allow", value_parser = network)]
    pub admin_allow: Vec<String>,
    /// Serve this folder on DOMAIN and www.DOMAIN instead of redirecting them to app.DOMAIN.
    #[arg(long, value_parser = static_root)]
    pub static_root: Option<String>,
    /// Copies of the app behind Caddy's load balancer, each on its own socket: 2 for deploys and
    /// crashes without a gap (needs --db postgres; at most 4).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub instances: u8,
    /// Read the SMTP URL from the first line of stdin (how --host passes it without a command line).
    #[arg(long, hide = true)]
    pub smtp_url_stdin: bool,
}

#[derive(Debug, Args)]
pub struct CloudInitArgs {
    #[arg(long, value_parser = admin_user)]
    pub admin_user: String,
    /// The public key(s) the sudo user logs in with (an authorized_keys or .pub file).
    #[arg(long)]
    pub admin_key_file: std::path::PathBuf,
}

/// A login name that useradd and sudoers take as is; never root.
fn admin_user(s: &str) -> Result<String, String> {
    let mut chars = s.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first && rest && s.len() <= 32 && s != "root" {
        Ok(s.to_owned())
    } else {
        Err("a lower-case login name (letters, digits, _ or -), not root".into())
    }
}

/// An address or a CIDR network, as Caddy's remote_ip takes it.
fn network(s: &str) -> Result<String, String> {
    let (addr, prefix) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
    let ip: IpAddr = addr.parse().map_err(|_| format!("{s:?} is not an IP address or network"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match prefix.map(str::parse::<u8>) {
        None => Ok(s.to_owned()),
        Some(Ok(bits)) if bits <= max => Ok(s.to_owned()),
        _ => Err(format!("{s:?}: the prefix length must be 0 to {max}")),
    }
}

/// An absolute folder path without characters the Caddyfile would read as syntax.
fn static_root(s: &str) -> Result<String, String> {
    let plain = s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
    if s.starts_with('/') && plain && !s.contains("..") {
        Ok(s.to_owned())
    } else {
        Err("an absolute path of letters, digits, /, ., _ and -".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(subcommand)]
        server: ServerCommand,
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Wrapper::command().debug_assert();
        crate::cli::Cli::command().debug_assert();
    }

    #[test]
    fn admin_names_exclude_root_and_shell_characters() {
        assert!(admin_user("alice").is_ok());
        for bad in ["root", "Alice", "al ice", "-x", "a;b", ""] {
            assert!(admin_user(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn networks_are_addresses_with_sane_prefixes() {
        assert!(network("10.8.0.0/24").is_ok() && network("2001:db8::/32").is_ok() && network("192.0.2.7").is_ok());
        for bad in ["10.8.0.0/33", "example.com", "10.8.0.0/24 0.0.0.0/0", "{x}"] {
            assert!(network(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn static_roots_cannot_inject_caddyfile_syntax() {
        assert!(static_root("/srv/www").is_ok());
        for bad in ["srv", "/srv/{x}", "/srv/a b", "/srv/../etc", "/srv\n}"] {
            assert!(static_root(bad).is_err(), "{bad:?}");
        }
    }
}
