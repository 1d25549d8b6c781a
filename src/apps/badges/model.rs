//! Badge domain types. Input is parsed into these at the edge: a slug that matches
//! `^[0-9a-z-]*$`, an image URL that is https, a validity period in days, evidence URLs that are
//! http(s). Ids are UUIDs, kept as text (the database driver has no UUID type).

use crate::kernel::clock::format_timestamp;
use crate::kernel::validation::FieldErrors;

pub const SLUG_MESSAGE: &str = "Only lowercase letters and hyphens are allowed.";
const MAX_NAME: usize = 120;
const MAX_SLUG: usize = 60;
const MAX_TEXT: usize = 4000;
const MAX_URL: usize = 2000;
const MAX_VALID_DAYS: i64 = 36_500;

/// A badge class's address part: `^[0-9a-z-]*$`, not empty, at most 60 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("This field is required.".into());
        }
        if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(SLUG_MESSAGE.into());
        }
        if value.len() > MAX_SLUG {
            return Err(format!("Use at most {MAX_SLUG} characters."));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute `https://` URL without spaces, quotes or control characters (for badge images).
pub fn parse_https_url(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    let rest = value.strip_prefix("https://").ok_or("Enter an https:// address.")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty()
        || value.len() > MAX_URL
        || value.chars().any(|c| c.is_whitespace() || c.is_control() || "\"<>\\`".contains(c))
    {
        return Err("Enter a valid https:// address.".into());
    }
    Ok(value.to_owned())
}

/// An `http://` or `https://` URL (evidence may live on an intranet without TLS).
pub fn parse_web_url(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    match value.strip_prefix("http://") {
        Some(rest) => parse_https_url(&format!("https://{rest}")).map(|_| value.to_owned()),
        None => parse_https_url(value),
    }
}

/// What staff type into the badge form, as it arrived.
#[derive(Clone, Debug, Default)]
pub struct BadgeClassInput {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub criteria: String,
    pub image_url: String,
    pub valid_days: String,
    pub course_id: String,
    /// An uploaded image (re-encoded before it is kept).
    pub image: Option<Vec<u8>>,
}

/// A badge class that passed every rule but the ones needing the database (slug taken) or
/// the image decoder.
#[derive(Clone, Debug)]
pub struct ValidBadgeClass {
    pub name: String,
    pub slug: Slug,
    pub description: String,
    pub criteria: String,
    pub image_url: Option<String>,
    pub valid_days: Option<i64>,
    pub course_id: Option<String>,
}

fn text(errors: &mut FieldErrors, field: &'static str, raw: &str, max: usize, required: bool) -> String {
    let value = raw.trim();
    if required && value.is_empty() {
        errors.add(field, "This field is required.");
    } else if value.chars().count() > max {
        errors.add(field, format!("Use at most {max} characters."));
    } else if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        errors.add(field, "Control characters are not allowed.");
    }
    value.to_owned()
}

impl BadgeClassInput {
    /// Every field's rule at once, so the form shows all its errors together. `has_image`: an
    /// image is already stored (editing), so neither an upload nor a URL is needed.
    pub fn validate(&self, has_image: bool) -> Result<ValidBadgeClass, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = text(&mut errors, "name", &self.name, MAX_NAME, true);
        let description = text(&mut errors, "description", &self.description, MAX_TEXT, true);
        let criteria = text(&mut errors, "criteria", &self.criteria, MAX_TEXT, true);
        let slug = Slug::parse(&self.slug).map_err(|e| errors.add("slug", e)).ok();
        let image_url = match self.image_url.trim() {
            "" => None,
            raw => parse_https_url(raw).map_err(|e| errors.add("image_url", e)).ok(),
        };
        if image_url.is_none() && self.image.is_none() && !has_image && errors.get("image_url").is_none() {
            errors.add("image", "Upload an image or give an https:// image address.");
        }
        let valid_days = match self.valid_days.trim() {
            "" => None,
            raw => match raw.parse::<i64>() {
                Ok(days) if (1..=MAX_VALID_DAYS).contains(&days) => Some(days),
                _ => {
                    errors.add(
                        "valid_days",
                        format!("Enter a number of days from 1 to {MAX_VALID_DAYS}, or leave it empty."),
                    );
                    None
                }
            },
        };
        let course = text(&mut errors, "course_id", &self.course_id, 100, false);
        match (slug, errors.is_empty()) {
            (Some(slug), true) => Ok(ValidBadgeClass {
                name,
                slug,
                description,
                criteria,
                image_url,
                valid_days,
                course_id: (!course.is_empty()).then_some(course),
            }),
            _ => Err(errors),
        }
    }
}

/// A badge staff designed.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BadgeClass {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub criteria: String,
    pub image_key: Option<String>,
    pub image_url: Option<String>,
    pub valid_days: Option<i64>,
    pub course_id: Option<String>,
}

impl BadgeClass {
    /// Where the badge's image is served: our copy of an upload, or the given https URL.
    pub fn image_src(&self) -> String {
        match (&self.image_key, &self.image_url) {
            (Some(_), _) => format!("/badges/images/{}.png", self.id),
            (None, Some(url)) => url.clone(),
            (None, None) => "/static/favicon.svg".into(),
        }
    }

    /// The image as an absolute URL, for documents read elsewhere (Open Badges, Open Graph).
    pub fn image_absolute(&self, base_url: &str) -> String {
        let src = self.image_src();
        if src.starts_with('/') { format!("{base_url}{src}") } else { src }
    }
}

/// One award of a badge to a person.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Award {
    pub id: String,
    pub badge_id: String,
    pub recipient_id: i64,
    pub recipient_email: String,
    pub recipient_name: String,
    pub salt: String,
    pub issued_on: i64,
    pub expires_at: Option<i64>,
    pub evidence_url: String,
    pub evidence_text: String,
    pub issued_by_name: String,
    pub revoked_at: Option<i64>,
    pub revocation_reason: String,
    pub status_index: i64,
}

/// Whether an award still holds, as the verification page and validators see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AwardStatus {
    Valid,
    Expired,
    Revoked,
}

impl Award {
    pub fn status(&self, now: i64) -> AwardStatus {
        if self.revoked_at.is_some() {
            AwardStatus::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            AwardStatus::Expired
        } else {
            AwardStatus::Valid
        }
    }

    pub fn issued_display(&self) -> String {
        format_timestamp(self.issued_on)
    }

    pub fn expires_display(&self) -> Option<String> {
        self.expires_at.map(format_timestamp)
    }
}

impl AwardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AwardStatus::Valid => "valid",
            AwardStatus::Expired => "expired",
            AwardStatus::Revoked => "revoked",
        }
    }
}

/// A badge earned elsewhere that its holder imported, with its last verification.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Imported {
    pub id: String,
    pub user_id: i64,
    /// The assertion's or credential's own id (unique per holder).
    pub source_id: String,
    /// `2.0` or `3.0`.
    pub ob_version: String,
    /// What was verified: the hosted assertion's URL or JSON, or the credential's compact JWT.
    pub original: String,
    pub badge_name: String,
    pub issuer_name: String,
    pub image_url: String,
    pub issued_on: Option<i64>,
    pub expires_at: Option<i64>,
    /// `valid`, `expired`, `revoked` or `invalid`.
    pub status: String,
    /// The verification report as JSON (a list of checks).
    pub report: String,
    pub verified_at: i64,
}

impl Imported {
    pub fn verified_display(&self) -> String {
        format_timestamp(self.verified_at)
    }

    pub fn issued_display(&self) -> String {
        self.issued_on.map(format_timestamp).unwrap_or_default()
    }

    /// The image, only when it is an https address (never a data: or javascript: URL).
    pub fn safe_image(&self) -> Option<&str> {
        parse_https_url(&self.image_url).ok().map(|_| self.image_url.as_str())
    }
}

/// Progress towards a badge as last read from the learning platform.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Progress {
    pub badge_id: String,
    /// None until a read succeeded.
    pub percent: Option<i64>,
    pub read_at: Option<i64>,
    pub attempted_at: i64,
    /// Why the last read failed; empty when it succeeded.
    pub last_error: String,
}

impl Progress {
    pub fn read_display(&self) -> String {
        self.read_at.map(format_timestamp).unwrap_or_default()
    }

    pub fn attempted_display(&self) -> String {
        format_timestamp(self.attempted_at)
    }
}

/// A new id for a badge class or an award.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether `raw` is a UUID in its canonical lower-case form (ids in URLs).
pub fn is_id(raw: &str) -> bool {
    uuid::Uuid::parse_str(raw).is_ok_and(|id| id.to_string() == raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slugs_take_lowercase_letters_digits_and_hyphens_only() {
        assert!(Slug::parse("python-101").is_ok());
        for bad in ["Python", "pyth on", "🐍-badge", "snake_case", "ü"] {
            assert_eq!(Slug::parse(bad).unwrap_err(), SLUG_MESSAGE, "{bad}");
        }
        assert!(Slug::parse("").is_err());
    }

    #[test]
    fn image_addresses_must_be_https() {
        assert!(parse_https_url("https://cdn.example.com/🏅.png").is_ok());
        for bad in
            ["http://example.com/a.png", "javascript:alert(1)", "https://", "https://a b/", "data:image/png;base64,AA"]
        {
            assert!(parse_https_url(bad).is_err(), "{bad}");
        }
        assert!(parse_web_url("http://intranet.example.com/evidence").is_ok());
        assert!(parse_web_url(" JaVaScRiPt:alert(1)").is_err());
    }

    #[test]
    fn every_form_error_is_reported_at_once() {
        let input = BadgeClassInput { slug: "Bad Slug".into(), valid_days: "0".into(), ..BadgeClassInput::default() };
        let errors = input.validate(false).unwrap_err();
        for field in ["name", "slug", "description", "criteria", "image", "valid_days"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        assert_eq!(errors.get("slug"), Some(SLUG_MESSAGE));
    }

    proptest! {
        #[test]
        fn a_parsed_slug_always_matches_the_rule(raw in "\\PC{0,80}") {
            if let Ok(slug) = Slug::parse(&raw) {
                prop_assert!(slug.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            }
        }
    }
}
