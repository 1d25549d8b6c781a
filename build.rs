//! Embeds the commit the binary is built from and the build time, for `/version` and
//! `/deployed_commit_id.txt`. `SHOESTRING_COMMIT` overrides the commit (a build outside a git
//! checkout); without either, the commit reads `unknown`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=SHOESTRING_COMMIT");
    // Rebuild the stamp when the checked-out commit moves (HEAD, the branch it points to, packed refs).
    for path in ["HEAD", "packed-refs"] {
        if let Some(file) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]).and_then(|r| git(&["rev-parse", "--git-path", &r])) {
        println!("cargo:rerun-if-changed={branch}");
    }
    let commit = std::env::var("SHOESTRING_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let built_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    println!("cargo:rustc-env=SHOESTRING_COMMIT={commit}");
    println!("cargo:rustc-env=SHOESTRING_BUILT_AT={built_at}");
}
