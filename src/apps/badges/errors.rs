//! How the badges service's errors answer over HTTP.

use super::service::BadgesError;
use crate::kernel::http::AppError;

impl From<BadgesError> for AppError {
    fn from(err: BadgesError) -> Self {
        match err {
            BadgesError::Invalid(errors) => AppError::Invalid(errors),
            BadgesError::Forbidden => {
                tracing::warn!(event = "authz_denied", "badge change refused");
                AppError::Forbidden
            }
            BadgesError::NotFound => AppError::NotFound,
            BadgesError::Refused(report) => {
                let failed =
                    report.checks.iter().find(|c| !c.ok).map_or("It could not be verified.", |c| c.detail.as_str());
                AppError::Invalid(crate::kernel::validation::FieldErrors::single("image", failed))
            }
            BadgesError::Internal(err) => AppError::Internal(err),
        }
    }
}
