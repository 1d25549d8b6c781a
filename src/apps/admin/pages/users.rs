//! Users in the console: the list (search, filters, sort, bulk actions), one user's page
//! (edit, sessions, password reset, recent activity) and deletion with a confirmation page.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::{AuditRow, staff_actor};
use crate::apps::accounts::{
    self, AccountsError, SessionInfo, StaffUser, User, UserEditInput, UserSections, Viewer, find_user,
};
use crate::apps::admin::forms::{BulkForm, SessionForm, UserEditForm, UserListQuery};
use crate::kernel::AppState;
use crate::kernel::audit::{self, Filter};
use crate::kernel::clock::format_timestamp;
use crate::kernel::http::render::{flash, invalid};
use crate::kernel::http::{AppError, ClientIp, CsrfForm, PageContext, render};
use crate::kernel::pagination::{PageRequest, Pager};
use crate::kernel::validation::FieldErrors;

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: PageContext,
    users: Vec<User>,
    /// Known without a scan only when no filter is set.
    total: Option<i64>,
    query: UserListQuery,
    pager: Pager,
}

pub async fn users_page(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Query(query): Query<UserListQuery>,
) -> Result<Response, AppError> {
    let page = PageRequest::new(query.page, accounts::USERS_PER_PAGE);
    let filter = query.filter();
    let found = accounts::list_users(&state, &filter, page, filter.is_empty()).await?;
    let pager = match found.total {
        Some(total) => Pager::counted(page, total, query.without_page()),
        None => Pager::uncounted(page, found.has_next, query.without_page()),
    };
    render(&UsersPage { page: viewer.page, users: found.users, total: found.total, query, pager })
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    page: PageContext,
    user: User,
    sessions: Vec<(SessionInfo, String, String)>,
    activity: Vec<AuditRow>,
    errors: FieldErrors,
}

async fn user_page_for(
    state: &AppState,
    page: PageContext,
    user: User,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let sessions = accounts::user_sessions(state, user.id).await?;
    let sessions = sessions
        .into_iter()
        .map(|s| (format_timestamp(s.created_at), format_timestamp(s.last_seen_at), s))
        .map(|(created, seen, s)| (s, created, seen))
        .collect();
    let filter = Filter { user_id: Some(user.id), limit: 20, ..Filter::default() };
    let activity = audit::list(&state.db.pool, &filter).await?.into_iter().map(AuditRow::from).collect();
    let has_errors = !errors.is_empty();
    let response = render(&UserPage { page, user, sessions, activity, errors });
    if has_errors { invalid(response) } else { response }
}

async fn target(state: &AppState, id: i64) -> Result<User, AppError> {
    find_user(state, id).await?.ok_or(AppError::NotFound)
}

pub async fn user_page(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let user = target(&state, id).await?;
    user_page_for(&state, viewer.page, user, FieldErrors::new()).await
}

pub async fn edit_user(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    viewer: Viewer,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<UserEditForm>,
) -> Result<Response, AppError> {
    let edit = UserEditInput {
        first_name: form.first_name,
        last_name: form.last_name,
        email: form.email,
        is_active: form.is_active.is_some(),
        is_staff: form.is_staff.is_some(),
        is_superuser: form.is_superuser.is_some(),
    };
    match accounts::edit_user(&state, &staff_actor(staff, ip), id, &edit).await {
        Ok(user) => {
            flash(&session, "success", format!("Saved {}.", user.username)).await?;
            Ok(Redirect::to(&format!("/admin/users/{id}/")).into_response())
        }
        Err(AccountsError::Invalid(errors)) => {
            let user = target(&state, id).await?;
            user_page_for(&state, viewer.page, user, errors).await
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn revoke_sessions(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<SessionForm>,
) -> Result<Response, AppError> {
    let which = (!form.session.is_empty()).then_some(form.session.as_str());
    let (user, ended) = accounts::revoke_sessions(&state, &staff_actor(staff, ip), id, which).await?;
    flash(&session, "success", format!("Signed {} out of {ended} session(s).", user.username)).await?;
    Ok(Redirect::to(&format!("/admin/users/{id}/")).into_response())
}

pub async fn send_password_reset(
    State(state): State<AppState>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<SessionForm>,
) -> Result<Response, AppError> {
    accounts::send_password_reset(&state, &staff_actor(staff, ip), id).await?;
    flash(&session, "success", "A password-reset link is on its way.").await?;
    Ok(Redirect::to(&format!("/admin/users/{id}/")).into_response())
}

#[derive(Template)]
#[template(path = "admin/confirm_users.html")]
struct ConfirmUsersPage {
    page: PageContext,
    title: String,
    action: &'static str,
    form_action: String,
    users: Vec<User>,
    ids: String,
}

pub async fn delete_form(
    State(state): State<AppState>,
    _staff: StaffUser,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let user = target(&state, id).await?;
    render(&ConfirmUsersPage {
        page: viewer.page,
        title: format!("Delete {}?", user.username),
        action: "delete",
        form_action: format!("/admin/users/{id}/delete/"),
        ids: id.to_string(),
        users: vec![user],
    })
}

pub async fn delete_user(
    State(state): State<AppState>,
    Extension(sections): Extension<UserSections>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<SessionForm>,
) -> Result<Response, AppError> {
    let user = target(&state, id).await?;
    accounts::delete_user(&state, &sections, &staff_actor(staff, ip), id).await?;
    flash(&session, "success", format!("Deleted {}.", user.username)).await?;
    Ok(Redirect::to("/admin/users/").into_response())
}

/// Bulk deactivate or delete: the first POST shows a confirmation page, the second applies.
pub async fn bulk(
    State(state): State<AppState>,
    Extension(sections): Extension<UserSections>,
    StaffUser(staff): StaffUser,
    ClientIp(ip): ClientIp,
    session: Session,
    viewer: Viewer,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let form = BulkForm::from_pairs(pairs);
    let action = match form.action.as_str() {
        "deactivate" => "deactivate",
        "delete" => "delete",
        _ => return Err(AppError::BadRequest("Choose an action.".into())),
    };
    if form.ids.is_empty() {
        flash(&session, "error", "Select at least one user.").await?;
        return Ok(Redirect::to("/admin/users/").into_response());
    }
    if !form.confirmed {
        let mut users = Vec::new();
        for id in &form.ids {
            users.extend(find_user(&state, *id).await?);
        }
        let ids = users.iter().map(|u| u.id.to_string()).collect::<Vec<_>>().join(",");
        return render(&ConfirmUsersPage {
            page: viewer.page,
            title: format!("{} {} user(s)?", if action == "delete" { "Delete" } else { "Deactivate" }, users.len()),
            action,
            form_action: "/admin/users/bulk/".into(),
            users,
            ids,
        });
    }
    let actor = staff_actor(staff, ip);
    let (mut done, mut refused) = (0, Vec::new());
    for id in form.ids {
        let outcome = match action {
            "delete" => accounts::delete_user(&state, &sections, &actor, id).await,
            _ => deactivate(&state, &actor, id).await,
        };
        match outcome {
            Ok(()) => done += 1,
            Err(AccountsError::NotFound) => {}
            Err(AccountsError::Invalid(_) | AccountsError::Forbidden) => refused.push(id),
            Err(other) => return Err(other.into()),
        }
    }
    let mut message = format!("{done} user(s) done.");
    if !refused.is_empty() {
        message.push_str(&format!(" Skipped {} (yourself, or superusers you may not change).", refused.len()));
    }
    flash(&session, if refused.is_empty() { "success" } else { "info" }, message).await?;
    Ok(Redirect::to("/admin/users/").into_response())
}

async fn deactivate(state: &AppState, actor: &accounts::StaffActor, id: i64) -> Result<(), AccountsError> {
    let user = find_user(state, id).await?.ok_or(AccountsError::NotFound)?;
    let edit = UserEditInput {
        first_name: user.first_name,
        last_name: user.last_name,
        email: user.email,
        is_active: false,
        is_staff: user.is_staff,
        is_superuser: user.is_superuser,
    };
    accounts::edit_user(state, actor, id, &edit).await.map(|_| ())
}
