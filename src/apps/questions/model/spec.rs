//! A whole question definition parsed from what staff typed (or from its stored row), with a
//! message per field for everything wrong at once.

use reqwest::header::{HeaderName, HeaderValue};

use super::{
    Aggregate, CompareOp, Comparison, MAX_REFRESH_SECS, MIN_REFRESH_SECS, PathTemplate, Rule, Slug, SourceUrl, Texts,
    Zone,
};
use crate::kernel::config::Secret;
use crate::kernel::outbound::Reach;
use crate::kernel::validation::FieldErrors;

/// A question as staff define it.
#[derive(Clone, Debug, PartialEq)]
pub struct QuestionSpec {
    pub slug: Slug,
    pub title: String,
    pub source: SourceUrl,
    /// `None`: no header. A header whose value is `None` keeps the stored value (an edit).
    pub header: Option<(String, Option<Secret>)>,
    pub rule: Rule,
    pub texts: Texts,
    pub refresh_secs: i64,
    pub zone: Zone,
}

/// The definition as text, field by field.
#[derive(Clone, Debug, Default)]
pub struct SpecInput<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub source_url: &'a str,
    pub header_name: &'a str,
    /// Empty on an edit keeps the stored value.
    pub header_value: &'a str,
    pub json_path: &'a str,
    pub aggregate: &'a str,
    /// Empty: the answer is the number itself.
    pub compare_op: &'a str,
    pub compare_value: &'a str,
    pub empty_is_zero: bool,
    pub yes_text: &'a str,
    pub no_text: &'a str,
    pub unknown_text: &'a str,
    pub refresh_minutes: &'a str,
    pub time_zone: &'a str,
    /// An existing question (with a stored header value) is being changed.
    pub editing: bool,
}

/// Headers the HTTP client sets itself or that would change how the request is framed.
const RESERVED_HEADERS: [&str; 6] = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te"];

fn short_text(errors: &mut FieldErrors, field: &'static str, text: &str, max: usize) -> String {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        errors.add(field, format!("Write 1–{max} characters."));
    }
    text.to_owned()
}

/// The value of a field that parsed, or `None` with its message added to `errors`.
fn field<T>(errors: &mut FieldErrors, name: &'static str, result: Result<T, String>) -> Option<T> {
    result.map_err(|message| errors.add(name, message)).ok()
}

impl QuestionSpec {
    pub fn parse(input: &SpecInput<'_>, reach: Reach) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::new();
        let slug = field(&mut e, "slug", Slug::parse(input.slug));
        let source = field(&mut e, "source_url", SourceUrl::parse(input.source_url, reach));
        let header = field(&mut e, "header_name", header(input));
        let rule = rule(&mut e, input);
        let zone = field(&mut e, "time_zone", Zone::parse(input.time_zone));
        let refresh_secs = field(&mut e, "refresh_minutes", refresh_secs(input.refresh_minutes));
        let title = short_text(&mut e, "title", input.title, 200);
        let texts = Texts {
            yes: short_text(&mut e, "yes_text", input.yes_text, 80),
            no: short_text(&mut e, "no_text", input.no_text, 80),
            unknown: short_text(&mut e, "unknown_text", input.unknown_text, 80),
        };
        match (slug, source, header, rule, zone, refresh_secs) {
            (Some(slug), Some(source), Some(header), Some(rule), Some(zone), Some(refresh_secs)) if e.is_empty() => {
                Ok(Self { slug, title, source, header, rule, texts, refresh_secs, zone })
            }
            _ => Err(e),
        }
    }
}

fn rule(errors: &mut FieldErrors, input: &SpecInput<'_>) -> Option<Rule> {
    let path = field(errors, "json_path", PathTemplate::parse(input.json_path));
    let aggregate = field(errors, "aggregate", Aggregate::parse(input.aggregate));
    let comparison = field(errors, "compare_op", comparison(input, aggregate));
    Some(Rule { path: path?, aggregate: aggregate?, comparison: comparison?, empty_is_zero: input.empty_is_zero })
}

fn comparison(input: &SpecInput<'_>, aggregate: Option<Aggregate>) -> Result<Option<Comparison>, String> {
    if input.compare_op.is_empty() {
        return match aggregate {
            Some(Aggregate::Any) => Err("\"any\" answers yes or no: choose a comparison.".into()),
            _ => Ok(None),
        };
    }
    let op = CompareOp::parse(input.compare_op).ok_or("Choose a comparison from the list.")?;
    let value = input.compare_value.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let value = value.ok_or("Compare with a number, such as 0.")?;
    Ok(Some(Comparison { op, value }))
}

fn header(input: &SpecInput<'_>) -> Result<Option<(String, Option<Secret>)>, String> {
    let name = input.header_name.trim();
    let value = input.header_value.trim();
    if name.is_empty() {
        return if value.is_empty() { Ok(None) } else { Err("Name the header this value goes in.".into()) };
    }
    let parsed = HeaderName::from_bytes(name.as_bytes()).map_err(|_| "Not a valid header name.")?;
    if RESERVED_HEADERS.contains(&parsed.as_str()) {
        return Err(format!("The client sets {name} itself."));
    }
    if value.is_empty() {
        return if input.editing { Ok(Some((name.to_owned(), None))) } else { Err("Give the header's value.".into()) };
    }
    if value.len() > 4096 || HeaderValue::from_str(value).is_err() {
        return Err("The header's value must be printable text of at most 4096 characters.".into());
    }
    Ok(Some((name.to_owned(), Some(Secret::new(value)))))
}

fn refresh_secs(minutes: &str) -> Result<i64, String> {
    let message = || format!("Between {} and {} minutes.", MIN_REFRESH_SECS / 60, MAX_REFRESH_SECS / 60);
    let minutes: i64 = minutes.trim().parse().map_err(|_| message())?;
    let secs = minutes.saturating_mul(60);
    if (MIN_REFRESH_SECS..=MAX_REFRESH_SECS).contains(&secs) { Ok(secs) } else { Err(message()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn tatis() -> SpecInput<'static> {
        SpecInput {
            slug: "tatis",
            title: "Does Tatis Jr have an error today?",
            source_url: "https://statsapi.mlb.com/api/v1/people/665487/stats?stats=gameLog&group=fielding&season={year}",
            json_path: "$.stats[0].splits[?@.date == '{today}'].stat.errors",
            aggregate: "sum",
            compare_op: ">",
            compare_value: "0",
            empty_is_zero: true,
            yes_text: "Yes",
            no_text: "No",
            unknown_text: "Nobody knows yet",
            refresh_minutes: "5",
            time_zone: "America/Los_Angeles",
            ..SpecInput::default()
        }
    }

    #[test]
    fn the_original_question_parses() {
        let spec = QuestionSpec::parse(&tatis(), Reach::Public).unwrap();

        assert_eq!(spec.refresh_secs, 300);
        assert!(spec.rule.path.template().uses_day());
        assert_eq!(spec.header, None);
    }

    #[test]
    fn bad_jsonpath_bad_urls_and_unknown_zones_are_field_errors() {
        let input = SpecInput {
            json_path: "$.stats[0",
            source_url: "http://statsapi.mlb.com/x",
            time_zone: "Mars/Olympus",
            compare_op: "",
            aggregate: "any",
            ..tatis()
        };

        let errors = QuestionSpec::parse(&input, Reach::Public).unwrap_err();

        assert!(errors.get("json_path").unwrap().starts_with("Not a valid JSONPath"));
        assert_eq!(errors.get("source_url"), Some("Use an https:// address."));
        assert!(errors.get("time_zone").unwrap().contains("Mars/Olympus"));
        assert!(errors.get("compare_op").is_some());
    }

    #[test]
    fn unknown_placeholders_and_private_hosts_are_refused() {
        let typo = SpecInput { source_url: "https://example.com/{date}", ..tatis() };
        let private = SpecInput { source_url: "https://192.168.1.10/stats", ..tatis() };

        let typo = QuestionSpec::parse(&typo, Reach::Public).unwrap_err();
        let private = QuestionSpec::parse(&private, Reach::Public).unwrap_err();

        assert_eq!(typo.get("source_url"), Some("Only {today} and {year} may appear in braces."));
        assert!(private.get("source_url").unwrap().starts_with("Refused"));
    }

    #[test]
    fn a_header_needs_a_value_except_when_an_edit_keeps_the_stored_one() {
        let new = SpecInput { header_name: "X-Api-Key", ..tatis() };
        let edit = SpecInput { header_name: "X-Api-Key", editing: true, ..tatis() };
        let host = SpecInput { header_name: "Host", header_value: "x", ..tatis() };

        assert_eq!(
            QuestionSpec::parse(&new, Reach::Public).unwrap_err().get("header_name"),
            Some("Give the header's value.")
        );
        assert_eq!(QuestionSpec::parse(&edit, Reach::Public).unwrap().header, Some(("X-Api-Key".into(), None)));
        assert!(QuestionSpec::parse(&host, Reach::Public).is_err());
    }
}
