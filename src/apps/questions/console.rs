//! The console's question pages (`/admin/questions/`): the list with each question's state, the
//! form to create and edit (with "test this source", which reads once and saves nothing), and
//! delete. Mounted by the console behind its staff guard; every handler also takes `StaffUser`.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_sessions::Session;

use super::forms::{ListQuery, QuestionForm};
use super::model::Zone;
use super::rule::Evaluation;
use super::service::{self, QuestionError, TestOutcome};
use super::store::QuestionRow;
use crate::apps::accounts::{StaffUser, Viewer};
use crate::kernel::AppState;
use crate::kernel::audit::Actor;
use crate::kernel::clock::format_timestamp;
use crate::kernel::http::render::{flash, invalid};
use crate::kernel::http::{AppError, ClientIp, CsrfForm, PageContext, render};
use crate::kernel::pagination::{PageRequest, Pager};
use crate::kernel::validation::FieldErrors;

const PER_PAGE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/questions/", get(list_page))
        .route("/admin/questions/new/", get(new_form).post(create))
        .route("/admin/questions/{id}/", get(edit_form).post(edit))
        .route("/admin/questions/{id}/delete/", get(delete_form).post(delete))
}

fn actor(staff: &crate::apps::accounts::User, ip: std::net::IpAddr) -> Actor {
    Actor::user(staff.id, &staff.username, ip)
}

/// A question's state, as one line each for staff.
struct StateLines {
    answer: String,
    error: Option<String>,
    next_read: String,
}

impl StateLines {
    fn of(row: &QuestionRow) -> Self {
        let zone = Zone::parse(&row.time_zone).ok();
        let when = |ts: i64| zone.as_ref().map_or_else(|| format_timestamp(ts), |z| z.format(ts));
        let answer = match (&row.answer, row.answered_at) {
            (Some(kind), Some(at)) => {
                let number = row.answer_number.map(super::model::format_number).unwrap_or_default();
                format!("{kind} {number} for {} (read {})", row.answer_day.as_deref().unwrap_or("?"), when(at))
            }
            _ => "none yet".to_owned(),
        };
        let error = match (&row.last_error, row.last_error_at) {
            (Some(message), Some(at)) if row.failures > 0 => {
                Some(format!("{message} ({} failed read(s), the last at {})", row.failures, when(at)))
            }
            _ => None,
        };
        Self { answer, error, next_read: when(row.next_fetch_at) }
    }
}

#[derive(Template)]
#[template(path = "questions/console_list.html")]
struct ListPage {
    page: PageContext,
    rows: Vec<(QuestionRow, StateLines)>,
    count: i64,
    pager: Pager,
}

async fn list_page(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let request = PageRequest::new(query.page, PER_PAGE);
    let (rows, count) = service::list_questions(&state, request).await?;
    let rows = rows.into_iter().map(|r| {
        let lines = StateLines::of(&r);
        (r, lines)
    });
    render(&ListPage {
        page: viewer.page,
        rows: rows.collect(),
        count,
        pager: Pager::counted(request, count, String::new()),
    })
}

/// The test's result as the form shows it.
struct TestView {
    url: String,
    day: String,
    error: Option<String>,
    evaluation: Option<Evaluation>,
    shown: Option<String>,
}

impl From<TestOutcome> for TestView {
    fn from(outcome: TestOutcome) -> Self {
        let (evaluation, error) = match outcome.result {
            Ok(found) => (Some(found), None),
            Err(err) => (None, Some(err.to_string())),
        };
        Self { url: outcome.url, day: outcome.day.to_string(), error, evaluation, shown: outcome.shown }
    }
}

#[derive(Template)]
#[template(path = "questions/console_form.html")]
struct FormPage {
    page: PageContext,
    form: QuestionForm,
    errors: FieldErrors,
    /// The question being edited, with its state.
    existing: Option<(QuestionRow, StateLines)>,
    test: Option<TestView>,
    aggregates: [&'static str; 4],
    operators: [&'static str; 6],
}

fn form_page(page: PageContext, form: QuestionForm, existing: Option<QuestionRow>) -> FormPage {
    FormPage {
        page,
        form: form.without_secret(),
        errors: FieldErrors::new(),
        existing: existing.map(|row| {
            let lines = StateLines::of(&row);
            (row, lines)
        }),
        test: None,
        aggregates: super::model::Aggregate::ALL.map(|a| a.as_str()),
        operators: super::model::CompareOp::ALL.map(|op| op.as_str()),
    }
}

async fn new_form(_staff: StaffUser, viewer: Viewer) -> Result<Response, AppError> {
    render(&form_page(viewer.page, QuestionForm::default(), None))
}

async fn edit_form(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let row = service::get_question(&state, id).await?;
    render(&form_page(viewer.page, QuestionForm::from_row(&row), Some(row)))
}

/// Saves or tests a submitted form; `existing` is the question being edited.
async fn submit(
    state: &AppState,
    actor: Actor,
    viewer: Viewer,
    session: &Session,
    form: QuestionForm,
    existing: Option<QuestionRow>,
) -> Result<Response, AppError> {
    let spec = form.parse(state.outbound.reach(), existing.is_some());
    let page_with = |errors: FieldErrors, test: Option<TestView>, existing: Option<QuestionRow>| {
        let mut page = form_page(viewer.page.clone(), form.clone(), existing);
        page.errors = errors;
        page.test = test;
        page
    };
    let spec = match spec {
        Ok(spec) => spec,
        Err(errors) => return invalid(render(&page_with(errors, None, existing))),
    };
    if form.is_test() {
        let outcome = service::test_source(state, &spec, existing.as_ref()).await;
        return render(&page_with(FieldErrors::new(), Some(outcome.into()), existing));
    }
    let saved = match &existing {
        Some(row) => service::update_question(state, actor, row.id, &spec).await.map(|()| row.id),
        None => service::create_question(state, actor, &spec).await,
    };
    match saved {
        Ok(id) => {
            flash(session, "success", format!("Saved /q/{}/. Its source is read within a minute.", spec.slug.as_str()))
                .await?;
            Ok(Redirect::to(&format!("/admin/questions/{id}/")).into_response())
        }
        Err(QuestionError::Invalid(errors)) => invalid(render(&page_with(errors, None, existing))),
        Err(other) => Err(other.into()),
    }
}

async fn create(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    viewer: Viewer,
    CsrfForm(form): CsrfForm<QuestionForm>,
) -> Result<Response, AppError> {
    submit(&state, actor(&staff, ip), viewer, &session, form, None).await
}

async fn edit(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<QuestionForm>,
) -> Result<Response, AppError> {
    let row = service::get_question(&state, id).await?;
    submit(&state, actor(&staff, ip), viewer, &session, form, Some(row)).await
}

#[derive(Template)]
#[template(path = "questions/console_delete.html")]
struct DeletePage {
    page: PageContext,
    row: QuestionRow,
}

async fn delete_form(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let row = service::get_question(&state, id).await?;
    render(&DeletePage { page: viewer.page, row })
}

async fn delete(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<ListQuery>,
) -> Result<Response, AppError> {
    service::delete_question(&state, actor(&staff, ip), id).await?;
    flash(&session, "success", "The question is deleted.").await?;
    Ok(Redirect::to("/admin/questions/").into_response())
}
