//! Production mode: the binary refuses unsafe settings, cookies are `__Host-` and Secure,
//! HSTS is on, development tools are gone, and logs are JSON lines with a request id.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use shoestring::kernel::config::{AppEnv, Secret, Settings};

use crate::support::TestApp;

const SECRET: &str = "prod-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn production(s: &mut Settings) {
    s.env = AppEnv::Production;
    s.secret_key = Secret::new(SECRET);
    s.allowed_hosts = vec!["127.0.0.1".into()];
    s.base_url = Some("https://app.example.com".into());
    s.smtp_url = Some(Secret::new("smtps://user:pass@127.0.0.1:1"));
}

fn shoestring(envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shoestring"));
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("RUST_LOG", "info");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn production_refuses_to_start_and_names_the_missing_setting() {
    let dir = std::env::temp_dir().join(format!("shoestring-prod-{}", std::process::id()));
    let db = format!("sqlite://{}/db.sqlite", dir.display());
    let base = [("APP_ENV", "production"), ("DATABASE_URL", db.as_str())];
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[], "SECRET_KEY"),
        (&[("SECRET_KEY", "too-short")], "SECRET_KEY"),
        (&[("SECRET_KEY", SECRET)], "ALLOWED_HOSTS"),
        (
            &[("SECRET_KEY", SECRET), ("ALLOWED_HOSTS", "app.example.com"), ("BASE_URL", "https://app.example.com")],
            "SMTP_URL",
        ),
    ];

    for (extra, setting) in cases {
        let out = shoestring(&[&base[..], extra].concat()).arg("migrate").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started without {setting}");
        assert!(stderr.contains(setting), "{setting} not named in: {stderr}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn production_cookies_are_host_prefixed_secure_and_http_only() {
    let app = TestApp::spawn_with(production).await;
    let (user, _) = app.staff_user("boss").await;
    let browser = app.browser();

    let res =
        browser.post_json("/api/login/", &serde_json::json!({"username": "boss", "password": user.password})).await;
    let cookies: Vec<String> =
        res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let hsts = res.headers()["strict-transport-security"].to_str().unwrap().to_owned();
    let session = cookies.iter().find(|c| c.starts_with("__Host-sessionid=")).expect("session cookie");
    let csrf = cookies.iter().find(|c| c.starts_with("csrftoken=")).expect("csrf cookie");

    assert_eq!(res.status(), 200);
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attribute), "{attribute} missing from {session}");
    }
    assert!(!session.contains("Domain="));
    assert!(csrf.contains("Secure"));
    assert!(hsts.starts_with("max-age=31536000") && hsts.contains("includeSubDomains"));
    assert_eq!(browser.get("/dev/outbox/").await.status(), 404);
}

#[test]
fn production_logs_are_json_lines_with_the_request_id_and_no_secrets() {
    let dir = std::env::temp_dir().join(format!("shoestring-logs-{}", std::process::id()));
    let db = format!("sqlite://{}/db.sqlite", dir.display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let bind = format!("127.0.0.1:{port}");
    let envs = [
        ("APP_ENV", "production"),
        ("DATABASE_URL", db.as_str()),
        ("SECRET_KEY", SECRET),
        ("ALLOWED_HOSTS", "127.0.0.1"),
        ("BASE_URL", "https://app.example.com"),
        ("SMTP_URL", "smtps://user:smtp-password-marker@127.0.0.1:1"),
        ("BIND", bind.as_str()),
        ("RUN_WORKER", "false"),
    ];
    let mut child = shoestring(&envs).arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader_lines = lines.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            reader_lines.lock().unwrap().push(line);
        }
    });

    let request_id = request_when_ready(port);
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(dir);

    let lines = lines.lock().unwrap().clone();
    assert!(!lines.is_empty());
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(value["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(!line.contains("smtp-password-marker") && !line.contains(SECRET));
    }
    assert!(lines.iter().any(|l| l.contains(&request_id)), "no log line carries {request_id}");
}

/// GETs `/` until the server answers; returns the response's request id.
fn request_when_ready(port: u16) -> String {
    use std::io::{Read, Write};
    for _ in 0..100 {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            stream.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            let id = response.lines().find_map(|l| l.strip_prefix("x-request-id: ")).map(str::to_owned);
            if let Some(id) = id {
                return id;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server never answered");
}

#[test]
fn a_log_that_cannot_be_written_never_stops_the_server() {
    let dir = std::env::temp_dir().join(format!("shoestring-devfull-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = format!("sqlite://{}/db.sqlite", dir.display());
    let bind = format!("127.0.0.1:{port}");
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let mut server = shoestring(&[("DATABASE_URL", &db), ("BIND", &bind), ("RUST_LOG", "debug")])
        .arg("serve")
        .stdout(full())
        .stderr(full())
        .spawn()
        .unwrap();

    let mut answers = Vec::new();
    for _ in 0..100 {
        if let Some(status) = status_of(&bind, "/posts/") {
            answers.push(status);
        }
        if answers.len() == 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let still_running = server.try_wait().unwrap().is_none();
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let exit = server.wait().unwrap();
    let _ = std::fs::remove_dir_all(dir);

    assert_eq!(answers, vec![200; 5]);
    assert!(still_running, "the server died writing its log");
    assert!(exit.success(), "exit after SIGTERM: {exit:?}");
}

/// The status of a plain HTTP/1.1 GET, or `None` when nothing answers.
fn status_of(addr: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[test]
fn sigterm_ends_the_server_within_its_grace_even_with_a_client_stuck_mid_headers() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("shoestring-stop-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let db = format!("sqlite://{}/db.sqlite", dir.display());
    let bind = format!("127.0.0.1:{port}");
    let envs = [
        ("DATABASE_URL", db.as_str()),
        ("BIND", bind.as_str()),
        ("HEADER_READ_TIMEOUT_SECS", "60"),
        ("LAME_DUCK_MS", "200"),
        ("SHUTDOWN_GRACE_SECS", "2"),
    ];
    let mut server = shoestring(&envs).arg("serve").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    while status_of(&bind, "/").is_none() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stuck = std::net::TcpStream::connect(&bind).unwrap();
    stuck.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Never-Ends: ").unwrap();

    let started = std::time::Instant::now();
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let exit = server.wait().unwrap();
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(dir);

    assert!(exit.success(), "{exit:?}");
    assert!(took < Duration::from_secs(4), "took {took:?}: lame duck 0.2 s + grace 2 s");
}
