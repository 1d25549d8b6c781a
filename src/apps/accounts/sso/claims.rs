//! From a verified ID token to an `SsoProfile`: the email and whether the provider vouches for
//! it, names (every Unicode character kept, control characters dropped), a username hint, and
//! staff status from the configured claim (a list such as `groups` or `roles`, or one string).

use serde_json::Value;

use super::SsoConfig;
use super::provider::VerifiedToken;
use crate::apps::accounts::model::{EmailAddress, Names};

const MAX_NAME_CHARS: usize = 150;

/// Who the provider says signed in.
#[derive(Clone, Debug)]
pub struct SsoProfile {
    pub issuer: String,
    pub subject: String,
    pub email: Option<EmailAddress>,
    /// The provider vouches for the address (`email_verified`, or its absence when configured so).
    pub email_verified: bool,
    pub names: Names,
    pub username_hint: String,
    pub is_staff: bool,
}

pub fn profile_from(config: &SsoConfig, token: VerifiedToken) -> SsoProfile {
    let claims = &token.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(clean_name).unwrap_or_default();
    let email = claims.get("email").and_then(Value::as_str).and_then(|e| EmailAddress::parse(e).ok());
    let email_verified = match claims.get("email_verified") {
        Some(Value::Bool(verified)) => *verified,
        // Some providers send the boolean as a string.
        Some(Value::String(verified)) => verified.eq_ignore_ascii_case("true"),
        _ => config.trust_missing_email_verified,
    };
    let username_hint = claims
        .get("preferred_username")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| email.as_ref().map(|e| e.as_str().split('@').next().unwrap_or("").to_owned()))
        .unwrap_or_default();
    SsoProfile {
        is_staff: has_staff_value(claims.get(&config.staff_claim), &config.staff_values),
        names: Names { first_name: text("given_name"), last_name: text("family_name"), nickname: text("name") },
        issuer: token.issuer,
        subject: token.subject,
        email,
        email_verified,
        username_hint,
    }
}

/// Whether the claim holds one of `values` (a list of strings, or one string).
fn has_staff_value(claim: Option<&Value>, values: &[String]) -> bool {
    let held = |v: &str| values.iter().any(|wanted| wanted == v);
    match claim {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(held),
        Some(Value::String(one)) => held(one),
        _ => false,
    }
}

/// A name as the provider sent it, without control characters, at most 150 characters.
fn clean_name(raw: &str) -> String {
    raw.trim().chars().filter(|c| !c.is_control()).take(MAX_NAME_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> SsoConfig {
        use clap::Parser;
        let mut settings = crate::cli::Cli::parse_from(["shoestring"]).settings;
        settings.oidc_issuer_url = Some("https://login.example.com".into());
        settings.oidc_staff_values = vec!["badge-staff".into()];
        SsoConfig::from_settings(&settings).unwrap()
    }

    fn token(claims: Value) -> VerifiedToken {
        let Value::Object(claims) = claims else { unreachable!() };
        VerifiedToken { issuer: "https://login.example.com".into(), subject: "sub-🐍".into(), claims }
    }

    #[test]
    fn staff_comes_from_a_group_list_or_a_single_role() {
        let p = profile_from(&config(), token(json!({"groups": ["everyone", "badge-staff"]})));
        assert!(p.is_staff);
        let p = profile_from(&config(), token(json!({"groups": "badge-staff"})));
        assert!(p.is_staff);
        let p = profile_from(&config(), token(json!({"groups": ["badge-staff-old"]})));
        assert!(!p.is_staff);
        let p = profile_from(&config(), token(json!({})));
        assert!(!p.is_staff);
    }

    #[test]
    fn a_missing_email_verified_counts_only_when_configured() {
        let claims = json!({"email": "zoë@example.com"});
        assert!(!profile_from(&config(), token(claims.clone())).email_verified);
        let mut trusting = config();
        trusting.trust_missing_email_verified = true;
        assert!(profile_from(&trusting, token(claims)).email_verified);
        assert!(profile_from(&config(), token(json!({"email_verified": "true"}))).email_verified);
        assert!(!profile_from(&config(), token(json!({"email_verified": false}))).email_verified);
    }

    #[test]
    fn names_keep_every_unicode_character_but_no_control_characters() {
        let p = profile_from(
            &config(),
            token(json!({"given_name": "Zoë 🐍", "family_name": "Ōtani\r\nBcc: x", "name": "Zoë 🐍 Ōtani"})),
        );
        assert_eq!(p.names.first_name, "Zoë 🐍");
        assert_eq!(p.names.last_name, "ŌtaniBcc: x");
        assert_eq!(p.names.nickname, "Zoë 🐍 Ōtani");
    }
}
