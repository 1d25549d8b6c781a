//! A full disk during a backup: the real binary serves from a small tmpfs in a private mount
//! namespace (`unshare -m`, root only), the disk is filled with `fallocate`, and a backup must
//! fail with a clear message, leave no archive or partial file, and not disturb the site.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_shoestring");

fn can_run() -> bool {
    let root = rustix::process::geteuid().is_root();
    let unshare = Command::new("unshare").arg("--version").output().is_ok_and(|o| o.status.success());
    if !(root && unshare) {
        assert!(std::env::var("REQUIRE_DISK_FULL_TEST").is_err(), "the disk-full test needs root and unshare");
        eprintln!("SKIPPED disk full: needs root and unshare (mount namespaces)");
    }
    root && unshare
}

/// Runs `args` inside the server's mount namespace with the app's environment.
fn inside(pid: u32, env: &[(&str, String)], args: &[&str]) -> std::process::Output {
    let mut command = Command::new("timeout");
    command.args(["120", "nsenter", "-t", &pid.to_string(), "-m", "--"]).args(args);
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command.output().unwrap()
}

fn free_bytes(pid: u32, dir: &Path) -> u64 {
    let out = inside(pid, &[], &["df", "-B1", "--output=avail", dir.to_str().unwrap()]);
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}

async fn status_of(port: u16, path: &str) -> u16 {
    let client = reqwest::Client::new();
    match client.get(format!("http://127.0.0.1:{port}{path}")).send().await {
        Ok(res) => res.status().as_u16(),
        Err(_) => 0,
    }
}

#[tokio::test]
async fn a_full_disk_fails_the_backup_cleanly_and_the_site_keeps_serving() {
    if !can_run() {
        return;
    }
    let mount = TempDir::new("diskfull");
    let d = mount.0.clone();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = vec![
        ("DATABASE_URL", format!("sqlite://{}/data/db.sqlite", d.display())),
        ("MEDIA_DIR", format!("{}/data/media", d.display())),
        ("BACKUP_WORK_DIR", format!("{}/data/work", d.display())),
        ("BIND", format!("127.0.0.1:{port}")),
        ("RATE_LIMITS", "false".into()),
        ("RUST_LOG", "warn".into()),
    ];
    let mut server = start_in_namespace(&d, port, &env).await;
    let pid = server.id();
    let seeded = inside(
        pid,
        &env,
        &[
            BIN,
            "seed",
            "--users",
            "30",
            "--posts",
            "3000",
            "--images",
            "8",
            "--password",
            "correct horse battery staple",
            "--passwords-file",
            "/dev/null",
        ],
    );
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let backups = format!("{}/backups", d.display());
    // A destination with room for a fraction of the archive: it fills while the archive is written.
    let small = format!("{}/small", d.display());
    assert!(inside(pid, &[], &["mkdir", &small]).status.success());
    assert!(inside(pid, &[], &["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", &small]).status.success());
    let destination_full = inside(pid, &env, &[BIN, "backup", "--to", &small]);
    expect_clean_failure(pid, port, &d, &small, &destination_full).await;

    // The data disk itself full: the snapshot cannot be written.
    let filler = format!("{}/filler", d.display());
    let fill = free_bytes(pid, &d).saturating_sub(16 * 1024);
    assert!(inside(pid, &[], &["fallocate", "-l", &fill.to_string(), &filler]).status.success());
    let data_full = inside(pid, &env, &[BIN, "backup", "--to", &backups]);
    expect_clean_failure(pid, port, &d, &backups, &data_full).await;
    assert!(inside(pid, &[], &["rm", &filler]).status.success());

    let backup = inside(pid, &env, &[BIN, "backup", "--to", &backups]);
    assert!(backup.status.success(), "with space again: {}", String::from_utf8_lossy(&backup.stderr));
    let _ = server.kill();
    let _ = server.wait();
}

/// `shoestring serve` on a 24 MB tmpfs mounted at `d` in its own mount namespace.
async fn start_in_namespace(d: &Path, port: u16, env: &[(&str, String)]) -> std::process::Child {
    let script = format!("mount -t tmpfs -o size=24m,mode=0700 tmpfs '{}' && exec '{BIN}' serve", d.display());
    let server = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c", &script])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while status_of(port, "/posts/").await != 200 {
        assert!(Instant::now() < deadline, "the app did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

async fn expect_clean_failure(pid: u32, port: u16, d: &Path, destination: &str, backup: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&backup.stderr);
    assert!(!backup.status.success(), "the backup cannot succeed on a full disk");
    assert!(stderr.contains("No space left") || stderr.contains("disk is full"), "{stderr}");
    let work = format!("{}/data/work", d.display());
    let left = inside(pid, &[], &["find", destination, &work, "-type", "f"]);
    assert_eq!(String::from_utf8_lossy(&left.stdout).trim(), "", "files were left behind ({stderr})");
    assert_eq!(status_of(port, "/posts/").await, 200);
    assert_eq!(status_of(port, "/api/posts/?limit=5").await, 200);
    eprintln!("{}", stderr.lines().last().unwrap_or_default());
}
