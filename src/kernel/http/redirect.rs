//! Where to send the browser after a form: only to a path on this site, never elsewhere.

/// `next` when it is a local path; `fallback` for anything else (other hosts, `//x`, `/\\x`,
/// schemes, control characters), so a crafted link can never redirect off-site.
pub fn safe_next<'a>(next: &'a str, fallback: &'a str) -> &'a str {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.chars().any(|c| c.is_control() || c == '\\');
    if ok { next } else { fallback }
}

#[cfg(test)]
mod tests {
    use super::safe_next;
    use proptest::prelude::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next("/accounts/users/?page=2", "/"), "/accounts/users/?page=2");
        for bad in ["https://evil.example", "//evil.example", "/\\evil.example", "", "javascript:alert(1)"] {
            assert_eq!(safe_next(bad, "/home/"), "/home/");
        }
    }

    proptest! {
        #[test]
        fn a_followed_next_never_leaves_the_site(next in "\\PC{0,40}") {
            let target = safe_next(&next, "/");
            prop_assert!(target.starts_with('/') && !target.starts_with("//") && !target.contains('\\'));
        }
    }
}
