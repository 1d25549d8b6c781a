//! Account domain types. Input is parsed into these at the edge, so the service never sees an
//! invalid username, address or name.

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use crate::kernel::clock::format_timestamp;
use crate::kernel::db::get_flag;

const MAX_USERNAME_CHARS: usize = 150;
const MAX_NAME_CHARS: usize = 150;
const MAX_EMAIL_CHARS: usize = 254;

/// Letters, digits and `@ . + - _` (Django's rule, Unicode letters included), 1–150 characters,
/// in Unicode's compatibility form (NFKC, as Django normalises usernames): full-width `Ｏrjan` and
/// `Orjan` are one name, never two look-alike accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

/// NFKC, then trimmed: the form usernames are stored and compared in.
pub fn normalize_username(raw: &str) -> String {
    raw.nfkc().collect::<String>().trim().to_owned()
}

/// The case-insensitive key a typed login (username or email) is looked up by.
pub fn login_key(raw: &str) -> String {
    normalize_username(raw).to_lowercase()
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let normalized = normalize_username(raw);
        let value = normalized.as_str();
        if value.is_empty() {
            return Err("This field is required.".into());
        }
        if value.chars().count() > MAX_USERNAME_CHARS {
            return Err(format!("Use at most {MAX_USERNAME_CHARS} characters."));
        }
        if !value.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)) {
            return Err("Use only letters, digits and @ . + - _ characters.".into());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive key the unique constraint is on.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// An email address as the user typed it, with the domain lower-cased. Two addresses that
/// differ only in case are one identity: `key()` is what the unique constraint compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("This field is required.".into());
        }
        let invalid = || "Enter a valid email address.".to_owned();
        if value.chars().count() > MAX_EMAIL_CHARS || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty() && !label.starts_with('-') && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local.is_empty() || local.contains('@') || !domain_ok || value.parse::<lettre::Address>().is_err() {
            return Err(invalid());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// First name, last name or nickname: optional, any Unicode (emoji too), no control characters.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(format!("Use at most {MAX_NAME_CHARS} characters."));
    }
    if value.chars().any(char::is_control) {
        return Err("Line breaks and control characters are not allowed.".into());
    }
    Ok(value.to_owned())
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub nickname: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub email_confirmed_at: Option<i64>,
    pub date_joined: i64,
    pub last_login: Option<i64>,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for User {
    fn from_row(row: &'r sqlx::any::AnyRow) -> sqlx::Result<Self> {
        use sqlx::Row;
        Ok(Self {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            email: row.try_get("email")?,
            password_hash: row.try_get("password_hash")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            nickname: row.try_get("nickname")?,
            is_active: get_flag(row, "is_active")?,
            is_staff: get_flag(row, "is_staff")?,
            is_superuser: get_flag(row, "is_superuser")?,
            email_confirmed_at: row.try_get("email_confirmed_at")?,
            date_joined: row.try_get("date_joined")?,
            last_login: row.try_get("last_login")?,
        })
    }
}

impl User {
    pub fn is_confirmed(&self) -> bool {
        self.email_confirmed_at.is_some()
    }

    /// Whether the account has a password at all: one made by single sign-on has none.
    pub fn has_password(&self) -> bool {
        !self.password_hash.starts_with('!')
    }

    pub fn date_joined_display(&self) -> String {
        format_timestamp(self.date_joined)
    }

    pub fn last_login_display(&self) -> String {
        self.last_login.map(format_timestamp).unwrap_or_else(|| "never".into())
    }

    /// How the user is greeted: nickname, else first name, else username.
    pub fn display_name(&self) -> &str {
        [&self.nickname, &self.first_name].into_iter().find(|s| !s.is_empty()).unwrap_or(&self.username)
    }
}

/// A validated sign-up, password already hashed.
#[derive(Debug)]
pub struct NewUser {
    pub username: Username,
    pub email: EmailAddress,
    pub password_hash: String,
    pub names: Names,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_superuser: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub first_name: String,
    pub last_name: String,
    pub nickname: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    Confirm,
    Reset,
    EmailChange,
    /// Confirms a personal address; the token row holds the address.
    PersonalEmail,
    /// A one-time staff login printed by `shoestring break-glass`.
    BreakGlass,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Confirm => "confirm",
            TokenPurpose::Reset => "reset",
            TokenPurpose::EmailChange => "email_change",
            TokenPurpose::PersonalEmail => "personal_email",
            TokenPurpose::BreakGlass => "break_glass",
        }
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserToken {
    pub id: i64,
    pub user_id: i64,
    pub email: String,
}

/// Everything we hold about a user, for "download my data".
#[derive(Debug, Serialize)]
pub struct AccountExport {
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub nickname: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub email_confirmed_at: Option<i64>,
    pub personal_email: Option<String>,
    pub date_joined: i64,
    pub last_login: Option<i64>,
    pub active_sessions: i64,
    /// What other apps hold about the user, one key per app (`"blog"`).
    #[serde(flatten)]
    pub sections: std::collections::BTreeMap<&'static str, serde_json::Value>,
}

/// One signed-in session, as its owner or staff see it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionInfo {
    /// SHA-256 of the session id: names the session in forms without revealing it.
    pub id_hash: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ip: String,
    pub user_agent: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usernames_allow_unicode_letters_but_not_spaces_or_markup() {
        assert!(Username::parse("zoë.o-brien_42").is_ok());
        assert!(Username::parse("ana maria").is_err());
        assert!(Username::parse("<script>").is_err());
        assert!(Username::parse("").is_err());
    }

    #[test]
    fn usernames_are_stored_in_nfkc_so_look_alikes_share_one_key() {
        let fullwidth = Username::parse("Ｏrjan").unwrap();
        assert_eq!(fullwidth.as_str(), "Orjan");
        assert_eq!(fullwidth.key(), Username::parse("orjan").unwrap().key());
        assert_eq!(Username::parse("ﬁnn").unwrap().as_str(), "finn", "the ﬁ ligature");
        assert_eq!(login_key("  ＯRJAN "), "orjan");
    }

    proptest! {
        #[test]
        fn username_normalisation_is_idempotent(raw in "\\PC{0,40}") {
            if let Ok(name) = Username::parse(&raw) {
                prop_assert_eq!(Username::parse(name.as_str()).unwrap(), name);
            }
        }
    }

    #[test]
    fn email_domains_are_lowercased_and_keys_ignore_case() {
        let email = EmailAddress::parse(" User@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "User@example.com");
        assert_eq!(email.key(), "user@example.com");
    }

    #[test]
    fn addresses_with_header_injection_are_refused() {
        assert!(EmailAddress::parse("a@example.com\r\nBcc: evil@example.com").is_err());
        assert!(EmailAddress::parse("no-at-sign.example.com").is_err());
        assert!(EmailAddress::parse("a@localhost").is_err());
    }

    #[test]
    fn names_keep_emoji_and_refuse_line_breaks() {
        assert_eq!(parse_name(" Ünïcode 🦀 ").unwrap(), "Ünïcode 🦀");
        assert!(parse_name("x\r\nBcc: evil@example.com").is_err());
    }

    proptest! {
        #[test]
        fn email_normalisation_is_idempotent(raw in "[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9-]{1,15}\\.[a-zA-Z]{2,6}") {
            if let Ok(once) = EmailAddress::parse(&raw) {
                let twice = EmailAddress::parse(once.as_str()).unwrap();
                prop_assert_eq!(&once, &twice);
                prop_assert_eq!(once.key(), twice.key());
            }
        }

        #[test]
        fn parsed_usernames_never_contain_whitespace_or_controls(raw in "\\PC{0,40}") {
            if let Ok(name) = Username::parse(&raw) {
                prop_assert!(!name.as_str().chars().any(|c| c.is_whitespace() || c.is_control()));
                prop_assert_eq!(Username::parse(name.as_str()).unwrap(), name);
            }
        }

        #[test]
        fn the_email_parser_never_panics(raw in "\\PC{0,80}") {
            let _ = EmailAddress::parse(&raw);
        }
    }
}
