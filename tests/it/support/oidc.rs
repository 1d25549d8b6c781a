//! A real OpenID Connect provider for the single sign-on tests: `oidc-provider` (npm, pinned in
//! tests/labs/oidc-provider with its lockfile) run by Node on 127.0.0.1, one process per test.
//! Its accounts live in a JSON file the test rewrites between logins. `OidcLab::start` returns
//! None (the test then says it was skipped) when the provider is not installed, unless
//! LABS_REQUIRED is set, as in CI, where a missing provider fails the test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::header::LOCATION;
use serde_json::Value;

use super::TempDir;

/// Client ids and secrets are ASCII (RFC 6749 VSCHAR); the emoji are in the accounts.
pub const CLIENT_ID: &str = "shoestring-badges";
pub const CLIENT_SECRET: &str = "lab-secret-0123456789-abcdef";

pub struct OidcLab {
    child: Child,
    pub issuer: String,
    pub port: u16,
    redirect_uri: String,
    dir: TempDir,
}

fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/labs/oidc-provider")
}

/// Whether a lab's tool is there; when it is not, skip the test, or fail it under LABS_REQUIRED.
pub fn lab_available(what: &str, present: bool) -> bool {
    if !present {
        assert!(std::env::var_os("LABS_REQUIRED").is_none(), "{what} is not installed (LABS_REQUIRED is set)");
        eprintln!("skipped: {what} is not installed (see .ci/badges-test.sh)");
    }
    present
}

impl OidcLab {
    /// Starts the provider with its client registered for `redirect_uri`.
    pub fn start(redirect_uri: &str) -> Option<Self> {
        if !lab_available(
            "the OpenID Connect provider (npm ci in tests/labs/oidc-provider)",
            lab_dir().join("node_modules/oidc-provider").exists(),
        ) {
            return None;
        }
        let dir = TempDir::new("oidc");
        std::fs::write(dir.0.join("accounts.json"), "{}").unwrap();
        let (child, port) = spawn(&dir.0, redirect_uri, 0);
        Some(Self {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
            port,
            redirect_uri: redirect_uri.to_owned(),
            dir,
        })
    }

    /// Sets (or replaces) one account's claims; `sub` is the account id.
    pub fn set_account(&self, id: &str, claims: Value) {
        let path = self.dir.0.join("accounts.json");
        let mut all: serde_json::Map<String, Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        all.insert(id.to_owned(), claims);
        std::fs::write(path, serde_json::to_string(&all).unwrap()).unwrap();
    }

    /// Stops the provider and starts it again on the same port with a new signing key.
    pub fn restart_with_new_key(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_file(self.dir.0.join("key.json")).unwrap();
        let (child, _) = spawn(&self.dir.0, &self.redirect_uri, self.port);
        self.child = child;
    }
}

/// Starts the provider and waits for its `listening` line. A start that stalls is killed and
/// made once more: the provider is the lab, not what is tested, and CI has seen a start stall for
/// over 60 s after its modules loaded and before it was made, with the machine otherwise well.
/// Its stage lines (provider.mjs) say where a stall stopped; both attempts' are in the panic.
fn spawn(dir: &Path, redirect_uri: &str, port: u16) -> (Child, u16) {
    let mut stalled = String::new();
    for attempt in 1..=2 {
        match spawn_once(dir, redirect_uri, port) {
            Ok(started) => return started,
            Err(log) => {
                eprintln!("the provider did not start within 30 s on attempt {attempt}: {log}");
                stalled.push_str(&format!("attempt {attempt}:\n{log}\n"));
            }
        }
    }
    panic!("the provider did not start in two attempts of 30 s; its output:\n{stalled}")
}

/// One start: the child and its port, or (the child killed) what it logged.
fn spawn_once(dir: &Path, redirect_uri: &str, port: u16) -> Result<(Child, u16), String> {
    let mut child = Command::new("node")
        .arg(lab_dir().join("provider.mjs"))
        .env("PORT", port.to_string())
        .env("CLIENT_ID", CLIENT_ID)
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .env("REDIRECT_URI", redirect_uri)
        .env("ACCOUNTS_FILE", dir.join("accounts.json"))
        .env("KEY_FILE", dir.join("key.json"))
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("provider.log")).expect("the provider's log file"))
        .spawn()
        .expect("node runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix("listening ") {
                let _ = tx.send(port.trim().parse::<u16>().unwrap());
            }
        }
    });
    // Generous: the suite starts one provider per test, two at once on two cores, in ~2 s each.
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(port) => Ok((child, port)),
        Err(err) => {
            child.kill().ok();
            child.wait().ok();
            Err(format!("({err}) {}", std::fs::read_to_string(dir.join("provider.log")).unwrap_or_default()))
        }
    }
}

impl Drop for OidcLab {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A person at the provider's own pages: a cookie jar, no automatic redirects.
pub struct ProviderVisitor {
    client: reqwest::Client,
}

impl Default for ProviderVisitor {
    fn default() -> Self {
        let client =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { client }
    }
}

/// What to do at the provider's pages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AtProvider {
    Consent,
    Cancel,
}

impl ProviderVisitor {
    /// Follows the provider's pages from `auth_url`, logs in as `account` and consents (or
    /// cancels); returns the URL the provider sends the browser back to (the app's callback).
    pub async fn login(&self, auth_url: &str, account: &str, choice: AtProvider) -> String {
        let mut url = auth_url.to_owned();
        let origin = origin_of(auth_url);
        for _ in 0..12 {
            let res = self.client.get(&url).send().await.unwrap();
            if let Some(location) = res.headers().get(LOCATION) {
                let next = absolute(&origin, location.to_str().unwrap());
                if !next.starts_with(&origin) {
                    return next;
                }
                url = next;
                continue;
            }
            let html = res.text().await.unwrap();
            let uid = url.rsplit("/interaction/").next().unwrap().trim_end_matches('/').to_owned();
            let form: Vec<(&str, &str)> = if choice == AtProvider::Cancel && !html.contains("name=\"login\"") {
                url = format!("{origin}/interaction/{uid}/abort");
                continue;
            } else if html.contains("name=\"login\"") {
                vec![("prompt", "login"), ("login", account), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            };
            let res = self.client.post(format!("{origin}/interaction/{uid}")).form(&form).send().await.unwrap();
            let Some(location) = res.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_owned()) else {
                panic!(
                    "the provider did not redirect after its form at {url}: {} {}",
                    res.status(),
                    res.text().await.unwrap()
                );
            };
            url = absolute(&origin, &location);
            if !url.starts_with(&origin) {
                return url;
            }
        }
        panic!("the provider never sent the browser back");
    }
}

fn origin_of(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    format!("http://{}", rest.split('/').next().unwrap())
}

fn absolute(origin: &str, location: &str) -> String {
    if location.starts_with('/') { format!("{origin}{location}") } else { location.to_owned() }
}
