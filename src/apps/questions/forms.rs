//! The console's question form: the fields as typed, turned into a `QuestionSpec` (with a message
//! per field) and filled back in from a stored question. The header's value is never filled in.

use serde::Deserialize;

use super::model::{QuestionSpec, SpecInput, format_number};
use super::store::QuestionRow;
use crate::kernel::outbound::Reach;
use crate::kernel::validation::FieldErrors;

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct QuestionForm {
    pub slug: String,
    pub title: String,
    pub source_url: String,
    pub header_name: String,
    pub header_value: String,
    pub json_path: String,
    pub aggregate: String,
    pub compare_op: String,
    pub compare_value: String,
    /// A checkbox: present when ticked.
    pub empty_is_zero: Option<String>,
    pub yes_text: String,
    pub no_text: String,
    pub unknown_text: String,
    pub refresh_minutes: String,
    pub time_zone: String,
    /// `test` for "test this source" (read once, save nothing); anything else saves.
    pub action: String,
}

impl Default for QuestionForm {
    fn default() -> Self {
        Self {
            slug: String::new(),
            title: String::new(),
            source_url: "https://".into(),
            header_name: String::new(),
            header_value: String::new(),
            json_path: "$".into(),
            aggregate: "sum".into(),
            compare_op: ">".into(),
            compare_value: "0".into(),
            empty_is_zero: None,
            yes_text: "Yes".into(),
            no_text: "No".into(),
            unknown_text: "We don't know yet".into(),
            refresh_minutes: "5".into(),
            time_zone: "UTC".into(),
            action: String::new(),
        }
    }
}

impl QuestionForm {
    pub fn is_test(&self) -> bool {
        self.action == "test"
    }

    pub fn parse(&self, reach: Reach, editing: bool) -> Result<QuestionSpec, FieldErrors> {
        let input = SpecInput {
            slug: &self.slug,
            title: &self.title,
            source_url: &self.source_url,
            header_name: &self.header_name,
            header_value: &self.header_value,
            json_path: &self.json_path,
            aggregate: &self.aggregate,
            compare_op: &self.compare_op,
            compare_value: &self.compare_value,
            empty_is_zero: self.empty_is_zero.is_some(),
            yes_text: &self.yes_text,
            no_text: &self.no_text,
            unknown_text: &self.unknown_text,
            refresh_minutes: &self.refresh_minutes,
            time_zone: &self.time_zone,
            editing,
        };
        QuestionSpec::parse(&input, reach)
    }

    /// The form as it was typed, minus the secret (a re-rendered page never carries it).
    pub fn without_secret(mut self) -> Self {
        self.header_value.clear();
        self
    }

    pub fn from_row(row: &QuestionRow) -> Self {
        Self {
            slug: row.slug.clone(),
            title: row.title.clone(),
            source_url: row.source_url.clone(),
            header_name: row.header_name.clone(),
            header_value: String::new(),
            json_path: row.json_path.clone(),
            aggregate: row.aggregate.clone(),
            compare_op: row.compare_op.clone(),
            compare_value: format_number(row.compare_value),
            empty_is_zero: row.empty_is_zero.then(|| "on".to_owned()),
            yes_text: row.yes_text.clone(),
            no_text: row.no_text.clone(),
            unknown_text: row.unknown_text.clone(),
            refresh_minutes: (row.refresh_secs / 60).to_string(),
            time_zone: row.time_zone.clone(),
            action: String::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    #[serde(deserialize_with = "crate::kernel::http::extract::empty_as_none")]
    pub page: Option<i64>,
}
