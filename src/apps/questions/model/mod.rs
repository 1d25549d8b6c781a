//! A question's parts as types that cannot hold invalid values: its slug, the source URL and
//! JSONPath templates (with `{today}` and `{year}`), the rule's aggregate and comparison, the
//! time zone that defines "today", and the answer. Parsing returns the message shown beside the
//! form field; nothing here knows HTTP.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json_path::JsonPath;

use crate::kernel::outbound::Reach;

mod spec;

pub use spec::{QuestionSpec, SpecInput};

pub const MIN_REFRESH_SECS: i64 = 60;
pub const MAX_REFRESH_SECS: i64 = 86_400;

/// `tatis-error`: lower-case letters, digits and inner hyphens, at most 60 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(text: &str) -> Result<Self, String> {
        let slug = text.trim();
        let valid_chars = slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if slug.is_empty() || slug.len() > 60 || !valid_chars || slug.starts_with('-') || slug.ends_with('-') {
            return Err("Use 1–60 lower-case letters, digits and hyphens (not at either end).".into());
        }
        Ok(Self(slug.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A text with `{today}` (YYYY-MM-DD) and `{year}` filled in for the day being asked about.
/// Any other `{…}` is refused, so a typo never reaches the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(String);

const PLACEHOLDERS: [&str; 2] = ["{today}", "{year}"];

impl Template {
    fn parse(text: &str) -> Result<Self, String> {
        let stripped = PLACEHOLDERS.iter().fold(text.to_owned(), |t, p| t.replace(p, ""));
        if stripped.contains(['{', '}']) {
            return Err("Only {today} and {year} may appear in braces.".into());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn render(&self, day: Date) -> String {
        self.0.replace("{today}", &day.to_string()).replace("{year}", &day.year().to_string())
    }

    /// Whether the answer depends on the day (and so is stale after midnight).
    pub fn uses_day(&self) -> bool {
        mentions_day(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a stored template text has a day placeholder.
pub fn mentions_day(text: &str) -> bool {
    PLACEHOLDERS.iter().any(|p| text.contains(p))
}

/// A day to check templates with: the year and date forms every real day also has.
fn sample_day() -> Date {
    jiff::civil::date(2026, 4, 1)
}

/// The source's address template: once filled in, an address the outbound client may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceUrl(Template);

impl SourceUrl {
    pub fn parse(text: &str, reach: Reach) -> Result<Self, String> {
        let template = Template::parse(text.trim())?;
        let url =
            reqwest::Url::parse(&template.render(sample_day())).map_err(|e| format!("Not a valid address: {e}."))?;
        reach.check_url(&url).map_err(|e| e.to_string())?;
        Ok(Self(template))
    }

    pub fn template(&self) -> &Template {
        &self.0
    }
}

/// An RFC 9535 JSONPath query template, such as
/// `$.stats[0].splits[?@.date == '{today}'].stat.errors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathTemplate(Template);

impl PathTemplate {
    pub fn parse(text: &str) -> Result<Self, String> {
        let template = Template::parse(text.trim())?;
        JsonPath::parse(&template.render(sample_day())).map_err(|e| format!("Not a valid JSONPath: {e}."))?;
        Ok(Self(template))
    }

    /// The query for `day`; templates were checked at parse time and dates add no syntax.
    pub fn query(&self, day: Date) -> Result<JsonPath, String> {
        JsonPath::parse(&self.0.render(day)).map_err(|e| format!("Not a valid JSONPath: {e}."))
    }

    pub fn template(&self) -> &Template {
        &self.0
    }
}

/// How the selected values become one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    /// Yes when any value passes the comparison.
    Any,
    Sum,
    Count,
    /// The first value.
    First,
}

impl Aggregate {
    pub const ALL: [Aggregate; 4] = [Aggregate::Any, Aggregate::Sum, Aggregate::Count, Aggregate::First];

    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|a| a.as_str() == text).ok_or_else(|| "Choose any, sum, count or first.".into())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Any => "any",
            Aggregate::Sum => "sum",
            Aggregate::Count => "count",
            Aggregate::First => "first",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Gt,
    Ge,
    Eq,
    Ne,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 6] =
        [CompareOp::Gt, CompareOp::Ge, CompareOp::Eq, CompareOp::Ne, CompareOp::Lt, CompareOp::Le];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }

    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CompareOp::Gt => left > right,
            CompareOp::Ge => left >= right,
            CompareOp::Eq => left == right,
            CompareOp::Ne => left != right,
            CompareOp::Lt => left < right,
            CompareOp::Le => left <= right,
        }
    }
}

/// "Yes when the value `op` `value`".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    pub op: CompareOp,
    pub value: f64,
}

/// The JSON → answer rule. Without a comparison the answer is the number itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub path: PathTemplate,
    pub aggregate: Aggregate,
    pub comparison: Option<Comparison>,
    /// An empty selection counts as zero / no (a day without a game) instead of an error.
    pub empty_is_zero: bool,
}

/// An IANA time zone name that the bundled zone database knows.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    pub fn parse(text: &str) -> Result<Self, String> {
        let name = text.trim();
        let tz = TimeZone::get(name)
            .map_err(|_| format!("\"{name}\" is not a time zone name such as America/Los_Angeles."))?;
        Ok(Self { name: name.to_owned(), tz })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The local date at unix time `ts`.
    pub fn day_at(&self, ts: i64) -> Date {
        self.tz.to_datetime(Timestamp::from_second(ts).unwrap_or(Timestamp::UNIX_EPOCH)).date()
    }

    /// `2026-05-02 14:05 PDT`: a time as people in this zone read it.
    pub fn format(&self, ts: i64) -> String {
        let zoned = Timestamp::from_second(ts).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned_datetime(self.tz.clone());
        zoned.strftime("%Y-%m-%d %H:%M %Z").to_string()
    }

    /// The unix time of the next local midnight after `ts` (the start of the next day).
    pub fn next_midnight(&self, ts: i64) -> i64 {
        let next = self.day_at(ts).tomorrow().ok().and_then(|d| d.to_zoned_datetime(self.tz.clone()).ok());
        next.map_or(ts + 86_400, |z| z.timestamp().as_second())
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// The texts the page shows for each answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Texts {
    pub yes: String,
    pub no: String,
    pub unknown: String,
}

/// What a rule produced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Answer {
    Yes,
    No,
    Number(f64),
}

impl Answer {
    pub fn kind(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::Number(_) => "number",
        }
    }

    pub fn from_row(kind: &str, number: Option<f64>) -> Option<Self> {
        match (kind, number) {
            ("yes", _) => Some(Answer::Yes),
            ("no", _) => Some(Answer::No),
            ("number", Some(n)) => Some(Answer::Number(n)),
            _ => None,
        }
    }

    pub fn number(self) -> Option<f64> {
        match self {
            Answer::Number(n) => Some(n),
            _ => None,
        }
    }
}

/// A number as people write it: `3`, not `3.0`; `0.985`.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn midnight_follows_the_zone_across_a_daylight_saving_change() {
        let zone = Zone::parse("America/Los_Angeles").unwrap();
        // Saturday 2026-03-07 12:00 PST; on Sunday the clocks skip from 02:00 to 03:00.
        let saturday_noon = 1_772_913_600;

        let sunday = zone.next_midnight(saturday_noon);
        let monday = zone.next_midnight(sunday);

        assert_eq!(zone.day_at(saturday_noon).to_string(), "2026-03-07");
        assert_eq!(
            (zone.day_at(sunday - 1).to_string(), zone.day_at(sunday).to_string()),
            ("2026-03-07".into(), "2026-03-08".into())
        );
        assert_eq!(sunday - saturday_noon, 12 * 3600);
        assert_eq!(monday - sunday, 23 * 3600, "the day of the change has 23 hours");
    }

    #[test]
    fn templates_fill_in_the_day_and_year() {
        let template = Template::parse("https://x.example/{year}/log?d={today}&y={year}").unwrap();

        assert_eq!(template.render(jiff::civil::date(2026, 5, 2)), "https://x.example/2026/log?d=2026-05-02&y=2026");
        assert!(template.uses_day());
        assert!(!Template::parse("https://x.example/log").unwrap().uses_day());
    }

    proptest! {
        #[test]
        fn a_slug_is_refused_or_kept_exactly(text in "\\PC{0,70}") {
            if let Ok(slug) = Slug::parse(&text) {
                prop_assert_eq!(slug.as_str(), text.trim());
                prop_assert!(slug.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            }
        }

        #[test]
        fn a_rendered_template_has_no_braces_left(text in "[a-z{}/?=.]{0,40}") {
            if let Ok(template) = Template::parse(&text) {
                let rendered = template.render(jiff::civil::date(2026, 1, 31));
                prop_assert!(!rendered.contains(['{', '}']), "braces left in {}", rendered);
            }
        }
    }
}
