//! The password policy (NIST SP 800-63B): a minimum length, a generous maximum, a blocklist of
//! common passwords and a similarity check against the account's own data. No composition rules.
//! Lengths count Unicode code points; nothing is trimmed or case-folded.

use std::collections::HashSet;

/// Django's list of 20,000 common passwords (BSD licence), keeping the ones of 8+ characters:
/// shorter ones already fail the length rule.
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");
pub const MAX_PASSWORD_CHARS: usize = 1024;
const APP_WORDS: [&str; 2] = ["shoestring", "password"];

#[derive(Debug)]
pub struct PasswordPolicy {
    min_chars: usize,
    common: HashSet<&'static str>,
}

impl PasswordPolicy {
    pub fn new(min_chars: usize) -> Self {
        Self { min_chars, common: COMMON_PASSWORDS.lines().collect() }
    }

    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// Returns the first rule the password breaks, as a message for the user.
    /// `context` holds the account's own data (username, email, names).
    pub fn check(&self, password: &str, context: &[&str]) -> Result<(), String> {
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(format!("This password is too short. It must contain at least {} characters.", self.min_chars));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!("This password is too long. Use at most {MAX_PASSWORD_CHARS} characters."));
        }
        let lower = password.to_lowercase();
        if self.common.contains(lower.as_str()) || is_guessable(&lower) {
            return Err("This password is too common. Choose something harder to guess.".into());
        }
        if context.iter().any(|value| too_similar(&lower, value)) {
            return Err("This password is too similar to your username, name or email address.".into());
        }
        Ok(())
    }
}

/// Three or fewer distinct characters, only digits, and the app's own words (its name,
/// "password"): the context-specific choices NIST asks to block.
fn is_guessable(lower: &str) -> bool {
    let distinct: HashSet<char> = lower.chars().collect();
    distinct.len() <= 3
        || lower.chars().all(|c| c.is_ascii_digit())
        || APP_WORDS.iter().any(|w| lower.replace(w, "").chars().count() < 4)
}

fn too_similar(lower_password: &str, value: &str) -> bool {
    let value = value.to_lowercase();
    let parts = std::iter::once(value.as_str()).chain(value.split(|c: char| !c.is_alphanumeric()));
    parts.filter(|p| p.chars().count() >= 4).any(|part| {
        lower_password.contains(part) && part.chars().count() * 2 >= lower_password.chars().count()
            || strsim::normalized_levenshtein(lower_password, part) >= 0.7
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::new(12)
    }

    #[test]
    fn passphrases_without_symbols_or_capitals_are_accepted() {
        assert!(policy().check("correct horse battery staple", &["alice", "alice@example.com"]).is_ok());
    }

    #[test]
    fn short_long_and_common_passwords_are_refused_with_a_reason() {
        assert!(policy().check("elevenchars", &[]).unwrap_err().contains("too short"));
        assert!(policy().check(&"x1".repeat(600), &[]).unwrap_err().contains("too long"));
        assert!(policy().check("passwordpassword", &[]).unwrap_err().contains("too common"));
        assert!(policy().check("123456789012345", &[]).unwrap_err().contains("too common"));
        assert!(policy().check("shoestringshoestring", &[]).unwrap_err().contains("too common"));
    }

    #[test]
    fn passwords_like_the_account_data_are_refused() {
        let err = policy().check("margaret.hamilton@example.com", &["mhamilton", "margaret.hamilton@example.com"]);
        assert!(err.unwrap_err().contains("too similar"));
        assert!(policy().check("maggiehamilton1", &["maggiehamilton"]).is_err());
    }

    #[test]
    fn length_counts_code_points_not_bytes() {
        assert!(policy().check("ñandú🦀ñandú🦀xy", &[]).is_ok());
        assert!(policy().check("ñandú🦀ñandú", &[]).is_err());
    }
}
