//! A site's PostgreSQL role and database: the role may log in and owns its database, nothing
//! more (no superuser, no CREATEDB, no CREATEROLE); other roles cannot even connect to it. The
//! password is the one in the site's env file, sent to psql on stdin, and proven by logging in
//! with it over 127.0.0.1 (Debian's server listens on localhost only).

use super::env_file;
use super::host::Host;
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

/// The password the site's env file holds for its role.
fn password(host: &Host, site: &Site) -> anyhow::Result<String> {
    let text = host.read(&site.env_file())?.unwrap_or_default();
    let url = env_file::parse(&text).into_iter().find(|(k, _)| k == "DATABASE_URL").map(|(_, v)| v).unwrap_or_default();
    let prefix = format!("postgres://{}:", site.db_role());
    let password = url.strip_prefix(&prefix).and_then(|rest| rest.split('@').next()).unwrap_or_default();
    anyhow::ensure!(!password.is_empty(), "{} has no PostgreSQL password for {}", site.env_file(), site.db_role());
    anyhow::ensure!(
        password.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "unexpected password characters"
    );
    Ok(password.to_owned())
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

impl SiteDatabase {
    fn can_log_in(&self, host: &Host, password: &str) -> bool {
        let role = self.site.db_role();
        let port = self.port.to_string();
        let argv =
            ["psql", "-X", "-q", "-At", "-h", "127.0.0.1", "-p", &port, "-U", &role, "-d", &role, "-c", "SELECT 1"];
        host.run_with_env(&argv, None, &[("PGPASSWORD", password), ("PGCONNECT_TIMEOUT", "5")]).is_ok()
    }
}

impl Step for SiteDatabase {
    fn name(&self) -> String {
        format!("site {}: PostgreSQL role and database {}", self.site.name, self.site.db_role())
    }

    fn check(&self, host: &Host) -> anyhow::Result<Vec<String>> {
        let role = self.site.db_role();
        let mut diffs = state_diffs(&admin_sql(host, &state_sql(&role))?, &role);
        if diffs.is_empty() && !self.can_log_in(host, &password(host, &self.site)?) {
            diffs.push(format!("role {role}: set the password from {}", self.site.env_file()));
        }
        Ok(diffs)
    }

    fn apply(&self, host: &Host) -> anyhow::Result<()> {
        let role = self.site.db_role();
        let password = password(host, &self.site)?;
        let exists = admin_sql(host, &format!("SELECT 1 FROM pg_roles WHERE rolname = '{role}';"))?;
        let verb = if exists.trim() == "1" { "ALTER" } else { "CREATE" };
        admin_sql(
            host,
            &format!(
                "{verb} ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '{password}';"
            ),
        )?;
        let db = admin_sql(host, &format!("SELECT 1 FROM pg_database WHERE datname = '{role}';"))?;
        if db.trim() != "1" {
            admin_sql(host, &format!("CREATE DATABASE {role} OWNER {role};"))?;
        }
        admin_sql(host, &format!("ALTER DATABASE {role} OWNER TO {role}; REVOKE ALL ON DATABASE {role} FROM PUBLIC;"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
