//! The Open Badges validators the export tests run: the 1EdTech 2.0 validator `badgecheck`
//! (Python, offline: tests/labs/badgecheck/verify.py) from the interpreter BADGECHECK_PYTHON
//! names, and the 3.0 verifier openbadgeslib (tests/labs/openbadgeslib/verify3.py) from
//! OPENBADGESLIB_PYTHON. Each runs off the test's
//! async thread, since it calls back into the app under test, and is bounded by `timeout`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::oidc::lab_available;

fn labs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/labs")
}

/// The Python that has badgecheck installed, or None (skip) when it is not set up.
pub fn badgecheck() -> Option<String> {
    let python = std::env::var("BADGECHECK_PYTHON").ok().filter(|p| Path::new(p).exists());
    lab_available("badgecheck (BADGECHECK_PYTHON)", python.is_some()).then(|| python.unwrap_or_default())
}

/// badgecheck's report on a hosted assertion URL or a baked image file.
pub async fn run_badgecheck(python: &str, target: &str, recipient: Option<&str>) -> Value {
    let mut args = vec![
        "120".to_owned(),
        python.to_owned(),
        labs().join("badgecheck/verify.py").display().to_string(),
        target.to_owned(),
    ];
    args.extend(recipient.map(str::to_owned));
    run_json("timeout", args).await
}

/// Runs a command on the blocking pool and parses its last line of output as JSON.
pub async fn run_json(program: &'static str, args: Vec<String>) -> Value {
    let output = tokio::task::spawn_blocking(move || std::process::Command::new(program).args(&args).output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last)
        .unwrap_or_else(|_| panic!("{program} printed no JSON: {stdout}\n{}", String::from_utf8_lossy(&output.stderr)))
}

/// The Python that has openbadgeslib installed (OPENBADGESLIB_PYTHON), or None (skip).
pub fn openbadgeslib() -> Option<String> {
    let python = std::env::var("OPENBADGESLIB_PYTHON").ok().filter(|p| Path::new(p).exists());
    lab_available("openbadgeslib (OPENBADGESLIB_PYTHON)", python.is_some()).then(|| python.unwrap_or_default())
}

/// openbadgeslib's verdict on a baked 3.0 badge, with the issuer key from `jwks_url`.
pub async fn run_openbadgeslib(python: &str, file: &Path, jwks_url: &str, recipient: Option<&str>) -> Value {
    let script = labs().join("openbadgeslib/verify3.py").display().to_string();
    let mut args = vec!["120".to_owned(), python.to_owned(), script, file.display().to_string(), jwks_url.to_owned()];
    args.extend(recipient.map(str::to_owned));
    run_json("timeout", args).await
}
