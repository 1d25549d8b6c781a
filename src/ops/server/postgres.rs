//! A site's PostgreSQL role and database: the role may log in and owns its database, nothing
//! more (no superuser, no CREATEDB, no CREATEROLE); other roles cannot even connect to it. A
//! second role may create the restore drill's scratch databases and do nothing else. Passwords
//! are the ones in the site's env file, sent to psql on stdin, and proven by logging in with them
//! over 127.0.0.1 (Debian's server listens on localhost only).

use super::config_step::{ConfigFile, ConfigStep};
use super::env_file;
use super::host::{FileSpec, Host};
use super::site::Site;
use super::step::Step;

const PSQL: [&str; 11] = ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-f-"];

/// Runs SQL as the postgres superuser over the local socket (peer authentication).
pub fn admin_sql(host: &Host, sql: &str) -> anyhow::Result<String> {
    host.run_with_input(&PSQL, Some(sql))
}

/// The port of the local cluster (Debian picks 5433 when 5432 was taken at install time).
pub fn port(host: &Host) -> anyhow::Result<u16> {
    Ok(admin_sql(host, "SHOW port;")?.trim().parse()?)
}

/// The password the site's env file holds for `role` in the URL named `key`.
fn password(host: &Host, site: &Site, key: &str, role: &str) -> anyhow::Result<String> {
    let text = host.read(&site.env_file())?.unwrap_or_default();
    let url = env_file::parse(&text).into_iter().find(|(k, _)| k == key).map(|(_, v)| v).unwrap_or_default();
    let prefix = format!("postgres://{role}:");
    let password = url.strip_prefix(&prefix).and_then(|rest| rest.split('@').next()).unwrap_or_default();
    anyhow::ensure!(!password.is_empty(), "{} has no PostgreSQL password for {role}", site.env_file());
    anyhow::ensure!(
        password.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "unexpected password characters"
    );
    Ok(password.to_owned())
}

/// Whether `role` logs in over 127.0.0.1 to `database` with `password`.
fn can_log_in(host: &Host, port: u16, role: &str, database: &str, password: &str) -> bool {
    let port = port.to_string();
    let argv =
        ["psql", "-X", "-q", "-At", "-h", "127.0.0.1", "-p", &port, "-U", role, "-d", database, "-c", "SELECT 1"];
    host.run_with_env(&argv, None, &[("PGPASSWORD", password), ("PGCONNECT_TIMEOUT", "5")]).is_ok()
}

/// Creates `role` with `flags` and `password`, or brings an existing one to them.
fn ensure_role(host: &Host, role: &str, flags: &str, password: &str) -> anyhow::Result<()> {
    let exists = admin_sql(host, &format!("SELECT 1 FROM pg_roles WHERE rolname = '{role}';"))?;
    let verb = if exists.trim() == "1" { "ALTER" } else { "CREATE" };
    admin_sql(host, &format!("{verb} ROLE {role} WITH {flags} PASSWORD '{password}';"))?;
    Ok(())
}

/// One line of role flags and database facts, e.g. `f|f|f|t|shoestring_blog|private`.
fn state_sql(role: &str) -> String {
    format!(
        "SELECT r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolcanlogin, \
         COALESCE(pg_get_userbyid(d.datdba)::text, ''), \
         CASE WHEN d.datacl IS NOT NULL AND NOT EXISTS \
           (SELECT 1 FROM unnest(d.datacl) a WHERE a::text LIKE '=%') THEN 'private' ELSE 'public' END \
         FROM pg_roles r LEFT JOIN pg_database d ON d.datname = '{role}' WHERE r.rolname = '{role}';"
    )
}

/// What the state line says is wrong, one phrase each.
pub fn state_diffs(line: &str, role: &str) -> Vec<String> {
    let fields: Vec<&str> = line.trim().split('|').collect();
    if fields.len() != 6 {
        return vec![format!("create role {role}"), format!("create database {role}")];
    }
    let mut diffs = Vec::new();
    if fields[..4] != ["f", "f", "f", "t"] {
        diffs.push(format!("role {role}: login only, no superuser, createdb or createrole"));
    }
    match fields[4] {
        "" => diffs.push(format!("create database {role}")),
        owner if owner != role => diffs.push(format!("database {role}: owner {owner} → {role}")),
        _ => {}
    }
    if fields[4].is_empty() || fields[5] != "private" {
        diffs.push(format!("database {role}: revoke CONNECT from PUBLIC"));
    }
    diffs
}

pub struct SiteDatabase {
    pub site: Site,
    pub port: u16,
}

impl Step for SiteDatabase {
    fn name(&self) -> String {
        format!("site {}: PostgreSQL role and database {}", self.site.name, self.site.db_role())
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        let role = self.site.db_role();
        let mut diffs = state_diffs(&admin_sql(host, &state_sql(&role))?, &role);
        let password = password(host, &self.site, "DATABASE_URL", &role)?;
        if diffs.is_empty() && !can_log_in(host, self.port, &role, &role, &password) {
            diffs.push(format!("role {role}: set the password from {}", self.site.env_file()));
        }
        Ok(diffs)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        let role = self.site.db_role();
        let password = password(host, &self.site, "DATABASE_URL", &role)?;
        ensure_role(host, &role, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION", &password)?;
        let db = admin_sql(host, &format!("SELECT 1 FROM pg_database WHERE datname = '{role}';"))?;
        if db.trim() != "1" {
            admin_sql(host, &format!("CREATE DATABASE {role} OWNER {role};"))?;
        }
        admin_sql(host, &format!("ALTER DATABASE {role} OWNER TO {role}; REVOKE ALL ON DATABASE {role} FROM PUBLIC;"))?;
        Ok(())
    }
}

/// The role the restore drill (and so a deploy's rehearsal) uses to create its scratch
/// database: it may create databases and nothing else, and cannot connect to the site's own
/// (CONNECT is revoked from PUBLIC there); the archive it restores is the site's dump.
pub struct DrillRole {
    pub site: Site,
    pub port: u16,
}

const DRILL_FLAGS: &str = "LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION";

impl Step for DrillRole {
    fn name(&self) -> String {
        format!("site {}: PostgreSQL role {} for restore drills", self.site.name, self.site.drill_role())
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        let role = self.site.drill_role();
        let sql = format!(
            "SELECT rolsuper::text || rolcreatedb::text || rolcreaterole::text || rolcanlogin::text \
             FROM pg_roles WHERE rolname = '{role}';"
        );
        let flags = admin_sql(host, &sql)?;
        if flags.trim().is_empty() {
            return Ok(vec![format!("create role {role}")]);
        }
        let mut diffs = Vec::new();
        if flags.trim() != "falsetruefalsetrue" {
            diffs.push(format!("role {role}: login and createdb only"));
        }
        let password = password(host, &self.site, "DRILL_DATABASE_URL", &role)?;
        if !can_log_in(host, self.port, &role, "postgres", &password) {
            diffs.push(format!("role {role}: set the password from {}", self.site.env_file()));
        }
        Ok(diffs)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        let role = self.site.drill_role();
        ensure_role(host, &role, DRILL_FLAGS, &password(host, &self.site, "DRILL_DATABASE_URL", &role)?)
    }
}

const HBA_BEGIN: &str = "# BEGIN shoestring: sites' app machines (written by `shoestring server site join`)";
const HBA_END: &str = "# END shoestring";

/// `pg_hba.conf` with our block for the app machines of `sites` in place of the old one: each
/// may log in as its site's role to its site's database, over TLS (Debian's server has it on,
/// with the machine's own certificate) with a password, and to nothing else.
/// The block goes first: PostgreSQL takes the first line that matches.
pub fn hba_with_app_machines(current: &str, sites: &[Site]) -> String {
    let mut kept = String::new();
    let mut inside = false;
    for line in current.lines() {
        match line {
            HBA_BEGIN => inside = true,
            HBA_END if inside => inside = false,
            _ if !inside => {
                kept.push_str(line);
                kept.push('\n');
            }
            _ => {}
        }
    }
    let mut block = String::new();
    for site in sites.iter().filter(|s| s.local_postgres()) {
        for machine in &site.app_machines {
            let bits = if machine.is_ipv4() { 32 } else { 128 };
            let role = site.db_role();
            block.push_str(&format!("hostssl\t{role}\t{role}\t{machine}/{bits}\tscram-sha-256\n"));
        }
    }
    if block.is_empty() {
        return kept;
    }
    format!("{HBA_BEGIN}\n{block}{HBA_END}\n{kept}")
}

/// The listening addresses: loopback only, until a site here has app machines; then every
/// address, with the firewall letting in only those machines (`hardening.rs`) and `pg_hba.conf`
/// only their sites' roles. Changing it restarts PostgreSQL (once: later joins only reload).
pub fn remote_access(host: &Host, sites: &[Site]) -> anyhow::Result<Vec<ConfigStep>> {
    let config_file = admin_sql(host, "SHOW config_file;")?.trim().to_owned();
    let hba_file = admin_sql(host, "SHOW hba_file;")?.trim().to_owned();
    let conf_dir = config_file.rsplit_once('/').map(|(dir, _)| format!("{dir}/conf.d")).unwrap_or_default();
    let remote = sites.iter().any(|s| !s.app_machines.is_empty());
    let listen = if remote { "*" } else { "localhost" };
    let owned = |path: &str, content: String, mode: u32| FileSpec {
        path: path.to_owned(),
        content,
        mode,
        owner: "postgres".into(),
        group: "postgres".into(),
    };
    let conf = format!(
        "# Written by `shoestring server`: app machines reach this server's PostgreSQL\n\
         # (the firewall and pg_hba.conf decide which).\nlisten_addresses = '{listen}'\n"
    );
    let hba = hba_with_app_machines(&host.read(&hba_file)?.unwrap_or_default(), sites);
    let service = "postgresql.service".to_owned();
    let conf_path = format!("{conf_dir}/shoestring.conf");
    let mut steps = Vec::new();
    // Debian's default is loopback: a server that never had app machines needs no file.
    if remote || host.path(&conf_path).exists() {
        steps.push(ConfigStep {
            name: format!("postgresql: listens on {listen}"),
            files: vec![ConfigFile::plain(owned(&conf_path, conf, 0o644))],
            services: vec![service.clone()],
            reload: vec![["systemctl", "restart", "postgresql.service"].map(String::from).to_vec()],
            ..ConfigStep::default()
        });
    }
    steps.push(ConfigStep {
        name: "postgresql: pg_hba.conf lets each app machine reach its site's database only".into(),
        files: vec![ConfigFile::plain(owned(&hba_file, hba, 0o640))],
        services: vec![service],
        reload: vec![["systemctl", "reload", "postgresql.service"].map(String::from).to_vec()],
        ..ConfigStep::default()
    });
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_machines_get_their_sites_role_first_and_a_second_render_changes_nothing() {
        let debian = "# comment\nlocal all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n";
        let shop = Site {
            db: super::super::site::DbKind::Postgres,
            app_machines: vec!["10.0.0.3".parse().unwrap()],
            ..Site::example("shop", 8102)
        };

        let once = hba_with_app_machines(debian, &[shop.clone(), Site::example("blog", 8101)]);
        let twice = hba_with_app_machines(&once, std::slice::from_ref(&shop));

        assert_eq!(once, twice);
        assert!(once.starts_with(HBA_BEGIN), "{once}");
        assert!(once.contains("hostssl\tshoestring_shop\tshoestring_shop\t10.0.0.3/32\tscram-sha-256\n"), "{once}");
        assert_eq!(once.matches("10.0.0.3").count(), 1);
        assert!(once.ends_with(debian));
        assert_eq!(hba_with_app_machines(&once, &[Site { app_machines: vec![], ..shop }]), debian);
    }

    #[test]
    fn a_plain_owner_of_a_private_database_needs_nothing() {
        assert!(state_diffs("f|f|f|t|shoestring_blog|private\n", "shoestring_blog").is_empty());
    }

    #[test]
    fn superuser_foreign_owner_and_public_connect_are_each_named() {
        let diffs = state_diffs("t|f|f|t|postgres|public", "shoestring_blog");
        assert_eq!(diffs.len(), 3, "{diffs:?}");
        assert!(diffs[0].contains("no superuser"));
        assert!(diffs[1].contains("owner postgres"));
        assert!(diffs[2].contains("revoke CONNECT"));
    }

    #[test]
    fn a_missing_role_means_role_and_database_are_created() {
        assert_eq!(state_diffs("", "shoestring_blog").len(), 2);
        assert_eq!(state_diffs("f|f|f|t||public", "shoestring_blog")[0], "create database shoestring_blog");
    }
}
