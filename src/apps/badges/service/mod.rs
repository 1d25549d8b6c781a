//! The badge rules, shared by pages, the console and the REST API: designing badge classes
//! (staff), awarding and revoking (staff), and reading awards (their holder, or anyone for the
//! public verification page). No HTTP types here.

mod awards;
mod classes;
pub mod export;
pub mod imports;
pub mod progress;
pub mod verify;

pub use awards::{
    AwardInput, AwardReport, RecipientCheck, award_badge, check_recipients, my_awards, public_award, revoke_award,
};
pub use classes::{create_class, get_class, list_classes, update_class};

use crate::kernel::media::ImageError;
use crate::kernel::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum BadgesError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// An import whose verification failed, with what was checked.
    #[error("the badge did not verify")]
    Refused(Box<verify::Report>),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for BadgesError {
    fn from(err: sqlx::Error) -> Self {
        BadgesError::Internal(err.into())
    }
}

/// The accounts lookups badges make (addresses, users) fail only inside.
impl From<crate::apps::accounts::AccountsError> for BadgesError {
    fn from(err: crate::apps::accounts::AccountsError) -> Self {
        BadgesError::Internal(anyhow::anyhow!("{err}"))
    }
}

impl From<ImageError> for BadgesError {
    fn from(err: ImageError) -> Self {
        BadgesError::Invalid(FieldErrors::single("image", err.to_string()))
    }
}

pub type Result<T> = std::result::Result<T, BadgesError>;

/// The issuer's public name, from the settings (`BADGE_ISSUER_NAME`).
pub fn issuer_name(state: &crate::kernel::AppState) -> String {
    state.settings.badge_issuer_name.clone()
}
