//! Is the release we switched to the one answering, and is it ready? Asks an instance's socket
//! (`/readyz`, then `/version` for the commit) until both hold or the time is up, and gives up
//! early when systemd reports the service failed or restarting after a crash: a release that
//! cannot start is rolled back in seconds, not after the whole timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::ops::server::host::Host;
use crate::ops::server::site::Instance;

const POLL: Duration = Duration::from_millis(200);

/// What an instance says of itself.
pub struct Answer {
    pub ready: reqwest::StatusCode,
    pub ready_body: String,
    pub commit: Option<String>,
}

/// Asks instances on their loopback sockets (a runtime and client for the whole run).
pub struct Prober {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Prober {
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = reqwest::Client::builder().timeout(timeout).no_proxy().build()?;
        Ok(Self { runtime, client })
    }

    /// `/readyz` and `/version` of the instance at `address`.
    pub fn ask(&self, address: SocketAddr) -> anyhow::Result<Answer> {
        let base = format!("http://{address}");
        self.runtime.block_on(async {
            let response = self.client.get(format!("{base}/readyz")).send().await.context("/readyz")?;
            let ready = response.status();
            let ready_body = response.text().await.unwrap_or_default();
            let body = self.client.get(format!("{base}/version")).send().await?.bytes().await?;
            let version: serde_json::Value = serde_json::from_slice(&body).context("/version")?;
            Ok(Answer { ready, ready_body, commit: version["commit"].as_str().map(str::to_owned) })
        })
    }
}

/// Waits until the instance answers ready with `commit`; returns how long that took, or why not.
pub fn wait_ready(host: &Host, instance: &Instance, commit: &str, timeout: Duration) -> anyhow::Result<Duration> {
    let prober = Prober::new(Duration::from_secs(2))?;
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    while started.elapsed() < timeout {
        if let Some(crashed) = crashed(host, instance) {
            anyhow::bail!("{crashed}");
        }
        match prober.ask(instance.address()) {
            Ok(answer) if !answer.ready.is_success() => {
                last = format!("/readyz answered {}: {}", answer.ready, answer.ready_body)
            }
            Ok(answer) if answer.commit.as_deref() != Some(commit) => {
                let running = answer.commit.unwrap_or_default();
                last = format!("/version reports commit {}, not {}", short(&running), short(commit));
            }
            Ok(_) => return Ok(started.elapsed()),
            Err(err) => last = format!("{err:#}"),
        }
        std::thread::sleep(POLL);
    }
    anyhow::bail!("{} not ready with commit {} within {} s: {last}", instance.unit, short(commit), timeout.as_secs())
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}

/// The service failed, or crashed and waits to be restarted: why, from its journal.
fn crashed(host: &Host, instance: &Instance) -> Option<String> {
    let unit = instance.service();
    let state = host.run(&["systemctl", "show", &unit, "--property=ActiveState,SubState"]).ok()?;
    let failed = state.lines().any(|l| l == "ActiveState=failed" || l == "SubState=auto-restart");
    if !failed {
        return None;
    }
    Some(format!("{unit} failed to start: {}", journal_tail(host, &unit)))
}

/// A unit's last lines in the journal, on one line: why it stopped.
pub fn journal_tail(host: &Host, unit: &str) -> String {
    let journal = host.run(&["journalctl", "-u", unit, "-n", "4", "--no-pager", "-o", "cat"]).unwrap_or_default();
    journal.trim().replace('\n', " | ")
}
