//! Badge pages: the holder's "my badges" (with badges still to earn), the public verification
//! page of one award (no login; Open Graph tags; revoked and expired said plainly) with its share
//! links, badge images, and the console's badge design, award and revocation pages.

mod console;
mod imports;
mod mine;
mod openbadges;
mod public;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::kernel::AppState;

/// A baked badge image or a credential file, with room for the form's other fields.
const IMPORT_LIMIT: usize = 4 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/badges/", get(mine::my_badges_page))
        .route(
            "/badges/import/",
            get(imports::import_form).post(imports::import).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/badges/imported/{id}/", get(imports::imported_page))
        .route("/badges/imported/{id}/verify/", post(imports::reverify))
        .route("/badges/imported/{id}/delete/", post(imports::delete))
        .route("/badges/awards/{id}/", get(public::award_page))
        .route("/badges/images/{file}", get(public::badge_image))
        .route("/badges/awards/{id}/baked.png", get(openbadges::baked_png))
        .route("/badges/awards/{id}/baked.svg", get(openbadges::baked_svg))
        .route("/badges/ob2/issuer", get(openbadges::ob2_issuer))
        .route("/badges/ob2/classes/{id}", get(openbadges::ob2_class))
        .route("/badges/ob2/assertions/{id}", get(openbadges::ob2_assertion))
        .route("/badges/ob2/revocations", get(openbadges::ob2_revocations))
        .route("/badges/awards/{id}/credential.png", get(openbadges::credential_png))
        .route("/badges/awards/{id}/credential.svg", get(openbadges::credential_svg))
        .route("/badges/ob3/issuer", get(openbadges::ob3_issuer))
        .route("/badges/ob3/jwks", get(openbadges::ob3_jwks))
        .route("/badges/ob3/status", get(openbadges::ob3_status))
        .route("/badges/ob3/credentials/{id}", get(openbadges::ob3_credential))
}

/// The console's badge pages, mounted by the console under its staff guard.
pub fn console_router(state: &AppState) -> Router<AppState> {
    let upload_limit = DefaultBodyLimit::max(state.settings.max_upload_bytes + 64 * 1024);
    Router::new()
        .route("/admin/badges/", get(console::badges_page))
        .route("/admin/badges/new/", get(console::new_badge_form).post(console::new_badge).layer(upload_limit))
        .route("/admin/badges/{id}/", get(console::badge_page))
        .route("/admin/badges/{id}/edit/", get(console::edit_badge_form).post(console::edit_badge).layer(upload_limit))
        .route("/admin/badges/{id}/award/", post(console::award))
        .route("/admin/badges/awards/{id}/revoke/", post(console::revoke))
}

/// The first error of each field, in the form's order, for the summary at the top of a form.
fn error_list(errors: &crate::kernel::validation::FieldErrors, fields: &[(&str, &str)]) -> Vec<String> {
    fields.iter().filter_map(|(field, label)| errors.get(field).map(|e| format!("{label}: {e}"))).collect()
}
