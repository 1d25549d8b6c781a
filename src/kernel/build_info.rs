//! What this binary is: its version, the commit it was built from and when (set by `build.rs`).

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("SHOESTRING_COMMIT");

/// Unix seconds at build time.
pub fn built_at() -> i64 {
    env!("SHOESTRING_BUILT_AT").parse().unwrap_or(0)
}

/// `0.1.0-1a2b3c4`: the version and the short commit, as releases are named.
pub fn release_name() -> String {
    format!("{VERSION}-{}", COMMIT.get(..7).unwrap_or(COMMIT))
}

/// `{"version": …, "commit": …, "built_at": …}`: what `/version` and `shoestring version` print.
pub fn identity_json() -> serde_json::Value {
    serde_json::json!({ "version": VERSION, "commit": COMMIT, "built_at": built_at() })
}
