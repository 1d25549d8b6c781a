//! What a question's page (and its JSON twin) shows, from the stored answer alone: no source is
//! read during a page view. An answer that depends on the day counts only on the day it was read
//! for (after local midnight the page says "unknown" until the next read); the reason shown to
//! visitors is a plain category, while staff see the full error in the console.

use jiff::ToSpan;

use super::super::model::{Answer, Zone, format_number, mentions_day};
use super::super::rule::answer_text;
use super::super::store::{self, DayRow, QuestionRow};
use super::{QuestionError, Result};
use crate::kernel::AppState;

/// Days of history on the page, today included.
const HISTORY_DAYS: i64 = 30;

#[derive(Clone, Debug)]
pub enum Status {
    Answered { answer: Answer, text: String, as_of: i64, as_of_text: String },
    Unknown { reason: &'static str },
}

#[derive(Clone, Debug)]
pub struct DayView {
    pub day: String,
    /// `yes`, `no`, `number`, or `none` when nothing was read that day.
    pub kind: &'static str,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct QuestionView {
    pub slug: String,
    pub title: String,
    pub unknown_text: String,
    pub time_zone: String,
    pub today: String,
    pub status: Status,
    /// Newest first.
    pub history: Vec<DayView>,
}

pub async fn question_view(state: &AppState, slug: &str) -> Result<QuestionView> {
    let row = store::find_by_slug(&state.db, slug).await?.ok_or(QuestionError::NotFound)?;
    let zone = Zone::parse(&row.time_zone).map_err(|e| QuestionError::Internal(anyhow::anyhow!(e)))?;
    let now = state.clock.now();
    let today = zone.day_at(now);
    let since = today.checked_sub((HISTORY_DAYS - 1).days()).unwrap_or(today).to_string();
    let days = store::history(&state.db, row.id, &since).await?;
    Ok(QuestionView {
        status: status(&row, &zone, &today.to_string()),
        history: history(&row, &days, today),
        today: today.to_string(),
        time_zone: zone.name().to_owned(),
        slug: row.slug,
        title: row.title,
        unknown_text: row.unknown_text,
    })
}

fn status(row: &QuestionRow, zone: &Zone, today: &str) -> Status {
    let day_bound = mentions_day(&row.source_url) || mentions_day(&row.json_path);
    let answer = row.answer.as_deref().and_then(|kind| Answer::from_row(kind, row.answer_number));
    match (answer, row.answered_at) {
        (Some(answer), Some(as_of)) if !day_bound || row.answer_day.as_deref() == Some(today) => Status::Answered {
            answer,
            text: answer_text(answer, &row.yes_text, &row.no_text),
            as_of,
            as_of_text: zone.format(as_of),
        },
        (_, answered_at) => {
            let failed_since = row.last_error_at.is_some_and(|e| answered_at.is_none_or(|a| e > a));
            let reason = match row.last_error_kind.as_deref() {
                Some(kind) if failed_since => public_reason(kind),
                _ if answered_at.is_some() => "Not read yet today.",
                _ => "Not read yet.",
            };
            Status::Unknown { reason }
        }
    }
}

/// The reason visitors see: a category, never the host or the error's details.
fn public_reason(kind: &str) -> &'static str {
    match kind {
        "timeout" => "The source did not answer in time.",
        "status" => "The source answered with an error.",
        "not_json" => "The source sent something other than JSON.",
        "too_large" => "The source's answer was too large.",
        "nothing_matched" => "The source has no value for this yet.",
        "not_a_number" => "The source's value is not a number.",
        "connection_refused" | "connect" => "The source could not be reached.",
        _ => "The source could not be read.",
    }
}

fn history(row: &QuestionRow, days: &[DayRow], today: jiff::civil::Date) -> Vec<DayView> {
    (0..HISTORY_DAYS)
        .filter_map(|back| today.checked_sub(back.days()).ok())
        .map(|day| {
            let day = day.to_string();
            let found = days.iter().find(|d| d.day == day);
            match found.and_then(|d| Answer::from_row(&d.answer, d.answer_number)) {
                Some(answer) => {
                    DayView { kind: answer.kind(), text: answer_text(answer, &row.yes_text, &row.no_text), day }
                }
                None => DayView { kind: "none", text: "—".to_owned(), day },
            }
        })
        .collect()
}

impl Status {
    pub fn kind(&self) -> &'static str {
        match self {
            Status::Answered { answer, .. } => answer.kind(),
            Status::Unknown { .. } => "unknown",
        }
    }

    pub fn number(&self) -> Option<String> {
        match self {
            Status::Answered { answer: Answer::Number(n), .. } => Some(format_number(*n)),
            _ => None,
        }
    }
}
