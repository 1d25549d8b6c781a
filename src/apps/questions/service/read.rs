//! Reading a question's source: fill in the URL for the local day, GET it through the kernel's
//! outbound client, apply the rule. The refresh job does this for every due question at once
//! (each read bounded by the client's total timeout), keeps good answers with their day and
//! time, and on failure keeps the last good answer and retries after 30 s, 1 min, 2 min, …
//! up to the refresh interval. "Test this source" in the console reads once and saves nothing.

use jiff::civil::Date;

use super::super::model::{QuestionSpec, SpecInput, Zone};
use super::super::rule::{Evaluation, RuleError, answer_text, evaluate};
use super::super::store::{self, GoodRead, QuestionRow};
use crate::kernel::AppState;
use crate::kernel::config::Secret;
use crate::kernel::outbound::{ExtraHeader, FetchError, Reach};
use crate::kernel::validation::FieldErrors;

/// Due questions read in one run of the job; the rest wait for the next run.
const BATCH: i64 = 50;
/// The first retry after a failed read; it doubles up to the refresh interval.
const FIRST_RETRY_SECS: i64 = 30;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A stored definition that no longer parses (for example a zone the database dropped).
    #[error("The question's definition is not valid any more: {0}")]
    Definition(String),
}

impl ReadError {
    pub fn kind(&self) -> &'static str {
        match self {
            ReadError::Fetch(e) => e.kind(),
            ReadError::Rule(e) => e.kind(),
            ReadError::Definition(_) => "definition",
        }
    }
}

/// What "test this source" found.
#[derive(Debug)]
pub struct TestOutcome {
    /// The address as filled in for today.
    pub url: String,
    pub day: Date,
    pub result: Result<Evaluation, ReadError>,
    /// The answer as the page would show it.
    pub shown: Option<String>,
}

/// Reads `spec`'s source for `day` once.
async fn read(
    state: &AppState,
    spec: &QuestionSpec,
    header_value: Option<&str>,
    day: Date,
) -> Result<Evaluation, ReadError> {
    let url = spec.source.template().render(day);
    let headers: Vec<ExtraHeader> = match &spec.header {
        Some((name, value)) => {
            let value = value.as_ref().map(|v| v.expose()).or(header_value).unwrap_or_default();
            vec![ExtraHeader { name: name.clone(), value: Secret::new(value) }]
        }
        None => Vec::new(),
    };
    let json = state.outbound.get_json(&url, &headers).await?;
    Ok(evaluate(&spec.rule, &json, day)?)
}

/// Reads an unsaved definition once; `stored` supplies the header value an edit left blank.
pub async fn test_source(state: &AppState, spec: &QuestionSpec, stored: Option<&QuestionRow>) -> TestOutcome {
    let day = spec.zone.day_at(state.clock.now());
    let header_value = stored.map(|row| row.header_value.as_str());
    let result = read(state, spec, header_value, day).await;
    let shown = result.as_ref().ok().map(|e| answer_text(e.answer, &spec.texts.yes, &spec.texts.no));
    TestOutcome { url: spec.source.template().render(day), day, result, shown }
}

/// The job: reads every due question, all at once, and records each outcome.
pub async fn refresh_due(state: &AppState) -> anyhow::Result<usize> {
    let due = store::due_questions(&state.db, state.clock.now(), BATCH).await?;
    let count = due.len();
    let mut reads = tokio::task::JoinSet::new();
    for row in due {
        let state = state.clone();
        reads.spawn(async move { refresh_one(&state, &row).await });
    }
    while let Some(done) = reads.join_next().await {
        done??;
    }
    Ok(count)
}

async fn refresh_one(state: &AppState, row: &QuestionRow) -> anyhow::Result<()> {
    let spec = spec_from_row(row, state.outbound.reach());
    let zone = Zone::parse(&row.time_zone).ok();
    let now = state.clock.now();
    let outcome = match &spec {
        Ok(spec) => read(state, spec, Some(&row.header_value), spec.zone.day_at(now)).await,
        Err(errors) => Err(ReadError::Definition(errors.summary())),
    };
    let now = state.clock.now();
    let uses_day = spec.as_ref().is_ok_and(|s| s.source.template().uses_day() || s.rule.path.template().uses_day());
    let midnight = zone.as_ref().filter(|_| uses_day).map_or(i64::MAX, |z| z.next_midnight(now));
    match (outcome, &zone) {
        (Ok(found), Some(zone)) => {
            let day = zone.day_at(now).to_string();
            let next_fetch_at = (now + row.refresh_secs).min(midnight);
            let read =
                GoodRead { answer: found.answer.kind(), number: found.answer.number(), day: &day, now, next_fetch_at };
            let mut tx = state.db.begin_write().await?;
            store::record_answer(&mut tx, row.id, &read).await?;
            tx.commit().await?;
        }
        (outcome, _) => {
            let error = outcome.err().unwrap_or_else(|| ReadError::Definition("no time zone".into()));
            tracing::warn!(
                question = row.id,
                kind = error.kind(),
                failures = row.failures + 1,
                "question source read failed"
            );
            let next_fetch_at = (now + retry_after(row.failures, row.refresh_secs)).min(midnight);
            store::record_failure(&state.db, row.id, error.kind(), &error.to_string(), now, next_fetch_at).await?;
        }
    }
    Ok(())
}

/// 30 s after the first failure, doubling, never longer than the refresh interval.
fn retry_after(failures_before: i64, refresh_secs: i64) -> i64 {
    let doublings = u32::try_from(failures_before.clamp(0, 16)).unwrap_or(16);
    (FIRST_RETRY_SECS.saturating_mul(2_i64.pow(doublings))).min(refresh_secs.max(FIRST_RETRY_SECS))
}

/// A stored row parsed back into a definition (its header value stays in the row).
fn spec_from_row(row: &QuestionRow, reach: Reach) -> Result<QuestionSpec, FieldErrors> {
    let compare_value = row.compare_value.to_string();
    let refresh_minutes = (row.refresh_secs / 60).to_string();
    let input = SpecInput {
        slug: &row.slug,
        title: &row.title,
        source_url: &row.source_url,
        header_name: &row.header_name,
        header_value: "",
        json_path: &row.json_path,
        aggregate: &row.aggregate,
        compare_op: &row.compare_op,
        compare_value: &compare_value,
        empty_is_zero: row.empty_is_zero,
        yes_text: &row.yes_text,
        no_text: &row.no_text,
        unknown_text: &row.unknown_text,
        refresh_minutes: &refresh_minutes,
        time_zone: &row.time_zone,
        editing: true,
    };
    QuestionSpec::parse(&input, reach)
}
