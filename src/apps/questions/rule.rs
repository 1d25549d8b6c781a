//! Applies a question's rule to a JSON document: the JSONPath selection for the day, the
//! aggregate, then the comparison (Yes/No) or the number itself. Pure, so the console's "test
//! this source" and the refresh job give the same answer for the same document.

use jiff::civil::Date;
use serde_json::Value;

use super::model::{Aggregate, Answer, Rule, format_number};

/// Values shown to staff at most (a selection may match thousands).
const SHOWN_VALUES: usize = 20;

/// What the rule found and what it answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// How many nodes the path selected.
    pub matched: usize,
    /// The first selected values, as JSON text, each with its normalized path.
    pub values: Vec<(String, String)>,
    pub answer: Answer,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("The path matched nothing in this response.")]
    NothingMatched,
    #[error("The value at {at} is not a number: {value}")]
    NotANumber { at: String, value: String },
    #[error("{0}")]
    BadPath(String),
}

impl RuleError {
    pub fn kind(&self) -> &'static str {
        match self {
            RuleError::NothingMatched => "nothing_matched",
            RuleError::NotANumber { .. } => "not_a_number",
            RuleError::BadPath(_) => "bad_path",
        }
    }
}

pub fn evaluate(rule: &Rule, json: &Value, day: Date) -> Result<Evaluation, RuleError> {
    let path = rule.path.query(day).map_err(RuleError::BadPath)?;
    let nodes = path.query_located(json);
    let located: Vec<(String, &Value)> = nodes.iter().map(|n| (n.location().to_string(), n.node())).collect();
    let values = located.iter().take(SHOWN_VALUES).map(|(at, v)| (at.clone(), short_json(v))).collect();
    if located.is_empty() && !(rule.empty_is_zero || rule.aggregate == Aggregate::Count) {
        return Err(RuleError::NothingMatched);
    }
    let numbers = || located.iter().map(|(at, v)| number(at, v));
    let answer = match (rule.aggregate, rule.comparison) {
        (Aggregate::Any, Some(cmp)) => {
            let mut any = false;
            for n in numbers() {
                any |= cmp.op.holds(n?, cmp.value);
            }
            if any { Answer::Yes } else { Answer::No }
        }
        (aggregate, comparison) => {
            let total = match aggregate {
                Aggregate::Count => located.len() as f64,
                Aggregate::First => numbers().next().transpose()?.unwrap_or(0.0),
                Aggregate::Sum | Aggregate::Any => numbers().sum::<Result<f64, _>>()?,
            };
            match comparison {
                Some(cmp) if cmp.op.holds(total, cmp.value) => Answer::Yes,
                Some(_) => Answer::No,
                None => Answer::Number(total),
            }
        }
    };
    Ok(Evaluation { matched: located.len(), values, answer })
}

/// A value as a number: JSON numbers, `true`/`false` as 1/0, and numeric strings (`".985"`).
fn number(at: &str, value: &Value) -> Result<f64, RuleError> {
    let parsed = match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    };
    parsed.ok_or_else(|| RuleError::NotANumber { at: at.to_owned(), value: short_json(value) })
}

fn short_json(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 80 { text } else { format!("{}…", text.chars().take(80).collect::<String>()) }
}

/// How an answer reads on the page with the question's texts.
pub fn answer_text(answer: Answer, yes: &str, no: &str) -> String {
    match answer {
        Answer::Yes => yes.to_owned(),
        Answer::No => no.to_owned(),
        Answer::Number(n) => format_number(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apps::questions::model::{CompareOp, Comparison, PathTemplate};
    use serde_json::json;

    fn rule(path: &str, aggregate: Aggregate, comparison: Option<(CompareOp, f64)>, empty_is_zero: bool) -> Rule {
        Rule {
            path: PathTemplate::parse(path).unwrap(),
            aggregate,
            comparison: comparison.map(|(op, value)| Comparison { op, value }),
            empty_is_zero,
        }
    }

    fn day() -> Date {
        jiff::civil::date(2026, 5, 2)
    }

    fn game_log() -> Value {
        json!({"stats": [{"splits": [
            {"date": "2026-05-01", "stat": {"errors": 0, "fielding": ".985"}},
            {"date": "2026-05-02", "stat": {"errors": 2, "fielding": ".900"}},
        ]}]})
    }

    #[test]
    fn todays_errors_give_yes_through_the_date_placeholder() {
        let r = rule(
            "$.stats[0].splits[?@.date == '{today}'].stat.errors",
            Aggregate::Sum,
            Some((CompareOp::Gt, 0.0)),
            true,
        );

        let found = evaluate(&r, &game_log(), day()).unwrap();

        assert_eq!(found.answer, Answer::Yes);
        assert_eq!(found.values, vec![("$['stats'][0]['splits'][1]['stat']['errors']".to_owned(), "2".to_owned())]);
    }

    #[test]
    fn a_day_without_a_game_is_no_when_empty_counts_as_zero_and_an_error_otherwise() {
        let path = "$.stats[0].splits[?@.date == '{today}'].stat.errors";
        let other_day = jiff::civil::date(2026, 5, 3);

        let lenient = evaluate(&rule(path, Aggregate::Any, Some((CompareOp::Gt, 0.0)), true), &game_log(), other_day);
        let strict = evaluate(&rule(path, Aggregate::Any, Some((CompareOp::Gt, 0.0)), false), &game_log(), other_day);

        assert_eq!(lenient.unwrap().answer, Answer::No);
        assert_eq!(strict.unwrap_err(), RuleError::NothingMatched);
    }

    #[test]
    fn sums_counts_and_first_values_are_shown_as_numbers() {
        let all = "$.stats[0].splits[*].stat.errors";
        let fielding = "$.stats[0].splits[*].stat.fielding";

        let sum = evaluate(&rule(all, Aggregate::Sum, None, false), &game_log(), day()).unwrap();
        let count = evaluate(&rule(all, Aggregate::Count, None, false), &game_log(), day()).unwrap();
        let first = evaluate(&rule(fielding, Aggregate::First, None, false), &game_log(), day()).unwrap();

        assert_eq!(
            (sum.answer, count.answer, first.answer),
            (Answer::Number(2.0), Answer::Number(2.0), Answer::Number(0.985))
        );
        assert_eq!(answer_text(first.answer, "Yes", "No"), "0.985");
    }

    #[test]
    fn a_value_that_is_not_a_number_is_named_with_its_path() {
        let r = rule("$.stats[0].splits[*].date", Aggregate::Sum, None, false);

        let err = evaluate(&r, &game_log(), day()).unwrap_err();

        assert_eq!(err.to_string(), "The value at $['stats'][0]['splits'][0]['date'] is not a number: \"2026-05-01\"");
    }

    #[test]
    fn an_empty_season_counts_zero_games() {
        let r = rule("$.stats[0].splits[*]", Aggregate::Count, Some((CompareOp::Ge, 1.0)), false);

        let found = evaluate(&r, &json!({"stats": [{"splits": []}]}), day()).unwrap();

        assert_eq!((found.matched, found.answer), (0, Answer::No));
    }
}
