//! A throwaway PostgreSQL server on its own port, for tests that stop and start the database
//! (never the shared server on 5432). Needs PostgreSQL's server binaries and root (they run as
//! the `postgres` user); `ThrowawayCluster::start` returns `None` where they are missing.

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct ThrowawayCluster {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
}

fn server_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect();
    dirs.sort();
    dirs.pop().filter(|d| d.join("initdb").exists())
}

fn as_postgres(program: &std::path::Path) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(program).stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

impl ThrowawayCluster {
    pub fn start() -> Option<Self> {
        let bin = server_bin_dir()?;
        let running_as_root = Command::new("id").arg("-u").output().ok()?.stdout.starts_with(b"0");
        if !running_as_root {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let dir = std::env::temp_dir().join(format!("shoestring-pg-{port}"));
        std::fs::create_dir_all(&dir).ok()?;
        Command::new("chown").arg("postgres:").arg(&dir).status().ok()?;
        let init = as_postgres(&bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(dir.join("data"))
            .status()
            .ok()?;
        assert!(init.success(), "initdb failed");
        let cluster = Self { bin, dir, port };
        cluster.pg_ctl(&["start", "-w"]);
        Some(cluster)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the server the way an operator or a crash does (`fast`: connections are cut).
    pub fn stop(&self) {
        self.pg_ctl(&["stop", "-m", "fast", "-w"]);
    }

    pub fn restart(&self) {
        self.pg_ctl(&["start", "-w"]);
    }

    fn pg_ctl(&self, args: &[&str]) {
        let options = format!("-p {} -c listen_addresses=127.0.0.1 -k {}", self.port, self.dir.display());
        let status = as_postgres(&self.bin.join("pg_ctl"))
            .args(["-D"])
            .arg(self.dir.join("data"))
            .args(["-o", &options, "-l"])
            .arg(self.dir.join("log"))
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl {args:?} failed");
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .args(["-D"])
            .arg(self.dir.join("data"))
            .args(["stop", "-m", "immediate"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
