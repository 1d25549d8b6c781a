//! The real binary under a supervisor's eyes: the readiness notice comes only once the database
//! answered, SIGTERM sends the stopping notice and ends the process with status 0, and SIGHUP
//! never ends it. The test plays systemd: it binds the `NOTIFY_SOCKET` datagram socket.

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use crate::support::TempDir;
use crate::support::db::TestDb;

/// One `shoestring serve` with its notice socket and everything it printed.
struct Served {
    child: Child,
    notices: UnixDatagram,
    output: Arc<Mutex<String>>,
    port: u16,
    _dir: TempDir,
}

impl Served {
    fn start(database_url: &str) -> Self {
        let dir = TempDir::new("process");
        let notices = UnixDatagram::bind(dir.0.join("notify.sock")).unwrap();
        notices.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_shoestring"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("NOTIFY_SOCKET", dir.0.join("notify.sock"))
            .env("DATABASE_URL", database_url)
            .env("MEDIA_DIR", dir.0.join("media"))
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("METRICS_BIND", "off")
            .env("RUST_LOG", "info")
            .current_dir(&dir.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for mut pipe in
            [Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>, Box::new(child.stderr.take().unwrap())]
        {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    output.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Served { child, notices, output, port, _dir: dir }
    }

    /// The next notice the process sent, or `None` after 60 s or once it has exited.
    fn notice(&self) -> Option<String> {
        let mut buf = [0u8; 512];
        let n = self.notices.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).trim_end().to_owned())
    }

    fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap()).unwrap();
        kill_process(pid, signal).unwrap();
    }

    /// The exit status, waiting at most `limit`; `None` while it still runs.
    fn exit_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if started.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    async fn status_of(&self, path: &str) -> u16 {
        match reqwest::get(format!("http://127.0.0.1:{}{path}", self.port)).await {
            Ok(res) => res.status().as_u16(),
            Err(_) => 0,
        }
    }

    fn printed(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn ready_comes_after_the_database_answered_and_sigterm_sends_stopping_then_exits_0() {
    let (_db, url) = TestDb::create().await;
    let mut served = Served::start(&url);

    let ready = served.notice();
    let ready_at_ready = served.status_of("/readyz").await;
    served.signal(Signal::TERM);
    let stopping = served.notice();
    let exit = served.exit_within(Duration::from_secs(30));

    assert_eq!(ready.as_deref(), Some("READY=1"), "{}", served.printed());
    assert_eq!(ready_at_ready, 200, "not migrated and serving when it said it was ready");
    assert_eq!(stopping.as_deref(), Some("STOPPING=1"));
    assert!(exit.is_some_and(|s| s.success()), "exit after SIGTERM: {exit:?}\n{}", served.printed());
}

#[tokio::test]
async fn without_a_database_there_is_no_ready_notice() {
    let dir = TempDir::new("process-nodb");
    // A folder that cannot be made: its parent is a file.
    std::fs::write(dir.0.join("file"), b"").unwrap();
    let url = format!("sqlite://{}/file/db.sqlite", dir.0.display());
    let mut served = Served::start(&url);

    let exit = served.exit_within(Duration::from_secs(30));
    served.notices.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let notice = served.notice();

    assert!(exit.is_some_and(|s| !s.success()), "{exit:?}\n{}", served.printed());
    assert_eq!(notice, None);
}

#[tokio::test]
async fn sighup_is_logged_and_ignored() {
    let (_db, url) = TestDb::create().await;
    let mut served = Served::start(&url);
    assert_eq!(served.notice().as_deref(), Some("READY=1"), "{}", served.printed());

    served.signal(Signal::HUP);
    served.signal(Signal::HUP);
    let after_hup = served.exit_within(Duration::from_millis(500));
    let home = served.status_of("/").await;
    served.signal(Signal::TERM);
    let exit = served.exit_within(Duration::from_secs(30));

    assert_eq!(after_hup, None, "SIGHUP ended the process\n{}", served.printed());
    assert_eq!(home, 200);
    assert!(served.printed().contains("SIGHUP ignored: restart to apply settings"), "{}", served.printed());
    assert!(exit.is_some_and(|s| s.success()), "exit after SIGTERM: {exit:?}");
}
