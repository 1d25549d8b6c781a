//! Is the release we switched to the one answering, and is it ready? Polls the site's socket
//! (`/readyz`, then `/version` for the commit) until both hold or the time is up, and gives up
//! early when systemd reports the service failed or restarting after a crash: a release that
//! cannot start is rolled back in seconds, not after the whole timeout.

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::ops::server::host::Host;
use crate::ops::server::site::Site;

const POLL: Duration = Duration::from_millis(200);

/// Waits until the site answers ready with `commit`; returns how long that took, or why not.
pub fn wait_ready(host: &Host, site: &Site, commit: &str, timeout: Duration) -> anyhow::Result<Duration> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).no_proxy().build()?;
    let base = format!("http://127.0.0.1:{}", site.port);
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    while started.elapsed() < timeout {
        if let Some(crashed) = crashed(host, site) {
            anyhow::bail!("{crashed}");
        }
        match runtime.block_on(answer(&client, &base, commit)) {
            Ok(()) => return Ok(started.elapsed()),
            Err(err) => last = format!("{err:#}"),
        }
        std::thread::sleep(POLL);
    }
    anyhow::bail!("not ready with commit {} within {} s: {last}", short(commit), timeout.as_secs())
}

async fn answer(client: &reqwest::Client, base: &str, commit: &str) -> anyhow::Result<()> {
    let ready = client.get(format!("{base}/readyz")).send().await.context("/readyz")?;
    let status = ready.status();
    anyhow::ensure!(status.is_success(), "/readyz answered {status}: {}", ready.text().await.unwrap_or_default());
    let body = client.get(format!("{base}/version")).send().await?.bytes().await?;
    let version: serde_json::Value = serde_json::from_slice(&body)?;
    let running = version["commit"].as_str().unwrap_or_default();
    anyhow::ensure!(running == commit, "/version reports commit {}, not {}", short(running), short(commit));
    Ok(())
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// The service failed, or crashed and waits to be restarted: why, from its journal.
fn crashed(host: &Host, site: &Site) -> Option<String> {
    let unit = format!("{}.service", site.unit());
    let state = host.run(&["systemctl", "show", &unit, "--property=ActiveState,SubState"]).ok()?;
    let failed = state.lines().any(|l| l == "ActiveState=failed" || l == "SubState=auto-restart");
    if !failed {
        return None;
    }
    Some(format!("{unit} failed to start: {}", journal_tail(host, site)))
}

/// The service's last lines in the journal, on one line: why it stopped.
pub fn journal_tail(host: &Host, site: &Site) -> String {
    let unit = format!("{}.service", site.unit());
    let journal = host.run(&["journalctl", "-u", &unit, "-n", "4", "--no-pager", "-o", "cat"]).unwrap_or_default();
    journal.trim().replace('\n', " | ")
}
