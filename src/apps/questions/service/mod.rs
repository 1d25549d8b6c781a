//! The questions app's rules, shared by the console, the public pages and the refresh job:
//! creating, changing and deleting questions (audited, slugs unique), reading a source once
//! (`read.rs`), the scheduled refresh, and what a page shows (`view.rs`). No HTTP types here.

mod read;
mod view;

pub use read::{TestOutcome, refresh_due, test_source};
pub use view::{DayView, QuestionView, Status, question_view};

use crate::kernel::AppState;
use crate::kernel::audit::{self, Actor, Event};
use crate::kernel::db::{UniqueField, unique_field_error};
use crate::kernel::pagination::PageRequest;
use crate::kernel::validation::FieldErrors;

use super::model::QuestionSpec;
use super::store::{self, QuestionFields, QuestionRow};

#[derive(Debug, thiserror::Error)]
pub enum QuestionError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("no such question")]
    NotFound,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for QuestionError {
    fn from(err: sqlx::Error) -> Self {
        QuestionError::Internal(err.into())
    }
}

pub type Result<T> = std::result::Result<T, QuestionError>;

const SLUG_TAKEN: [UniqueField; 1] =
    [UniqueField { constraint: "questions_slug", field: "slug", message: "Another question has this address." }];

fn fields(spec: &QuestionSpec) -> QuestionFields<'_> {
    let (header_name, header_value) = match &spec.header {
        Some((name, value)) => (name.as_str(), value.as_ref().map(|v| v.expose())),
        None => ("", Some("")),
    };
    let (compare_op, compare_value) = spec.rule.comparison.map_or(("", 0.0), |c| (c.op.as_str(), c.value));
    QuestionFields {
        slug: spec.slug.as_str(),
        title: &spec.title,
        source_url: spec.source.template().as_str(),
        header_name,
        header_value,
        json_path: spec.rule.path.template().as_str(),
        aggregate: spec.rule.aggregate.as_str(),
        compare_op,
        compare_value,
        empty_is_zero: spec.rule.empty_is_zero,
        yes_text: &spec.texts.yes,
        no_text: &spec.texts.no,
        unknown_text: &spec.texts.unknown,
        refresh_secs: spec.refresh_secs,
        time_zone: spec.zone.name(),
    }
}

/// What the audit trail keeps of a definition: never the header's value.
fn audited(spec: &QuestionSpec) -> Vec<(&'static str, String)> {
    vec![
        ("slug", spec.slug.as_str().to_owned()),
        ("title", spec.title.clone()),
        ("source_url", spec.source.template().as_str().to_owned()),
        ("json_path", spec.rule.path.template().as_str().to_owned()),
        ("header_name", spec.header.as_ref().map(|(n, _)| n.clone()).unwrap_or_default()),
    ]
}

pub async fn create_question(state: &AppState, actor: Actor, spec: &QuestionSpec) -> Result<i64> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let id = match store::insert_question(&mut tx, &fields(spec), now).await {
        Ok(id) => id,
        Err(err) => return Err(QuestionError::Invalid(unique_field_error(err, &SLUG_TAKEN)?)),
    };
    let changes = audited(spec).into_iter().map(|(f, v)| audit::Change::new(f, "", v)).collect();
    let event = Event::new(actor, "question.created", "question", Some(id)).named(spec.slug.as_str());
    audit::record(&mut tx, &event.with_changes(changes), now).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update_question(state: &AppState, actor: Actor, id: i64, spec: &QuestionSpec) -> Result<()> {
    let before = get_question(state, id).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if let Err(err) = store::update_question(&mut tx, id, &fields(spec), now).await {
        return Err(QuestionError::Invalid(unique_field_error(err, &SLUG_TAKEN)?));
    }
    let old = [&before.slug, &before.title, &before.source_url, &before.json_path, &before.header_name];
    let pairs: Vec<(&str, String, String)> =
        audited(spec).into_iter().zip(old).map(|((f, after), b)| (f, b.clone(), after)).collect();
    let mut changes = audit::diff(&pairs);
    if matches!(&spec.header, Some((_, Some(_)))) {
        changes.push(audit::Change::new("header_value", "", "(changed)"));
    }
    let event = Event::new(actor, "question.updated", "question", Some(id)).named(spec.slug.as_str());
    audit::record(&mut tx, &event.with_changes(changes), now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_question(state: &AppState, actor: Actor, id: i64) -> Result<()> {
    let question = get_question(state, id).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if !store::delete_question(&mut tx, id).await? {
        return Err(QuestionError::NotFound);
    }
    let event = Event::new(actor, "question.deleted", "question", Some(id)).named(&question.slug);
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get_question(state: &AppState, id: i64) -> Result<QuestionRow> {
    store::find_by_id(&state.db, id).await?.ok_or(QuestionError::NotFound)
}

/// One page of questions by slug, with the total.
pub async fn list_questions(state: &AppState, page: PageRequest) -> Result<(Vec<QuestionRow>, i64)> {
    let count = store::count_questions(&state.db).await?;
    let rows = store::list_questions(&state.db, page.size, page.offset()).await?;
    Ok((rows, count))
}
