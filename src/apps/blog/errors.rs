//! How the blog service's errors answer over HTTP (pages and REST; GraphQL maps them to its own
//! error codes in `graphql.rs`).

use super::service::BlogError;
use crate::kernel::http::AppError;

impl From<BlogError> for AppError {
    fn from(err: BlogError) -> Self {
        match err {
            BlogError::Invalid(errors) => AppError::Invalid(errors),
            BlogError::Unauthorized => AppError::Unauthorized,
            BlogError::Forbidden => {
                tracing::warn!(event = "authz_denied", "post change refused");
                AppError::Forbidden
            }
            BlogError::NotFound => AppError::NotFound,
            BlogError::Throttled(retry_after) => AppError::TooManyRequests { retry_after },
            BlogError::TooLarge => AppError::PayloadTooLarge,
            BlogError::Busy => AppError::Unavailable { retry_after: std::time::Duration::from_secs(5) },
            BlogError::Internal(err) => AppError::Internal(err),
        }
    }
}
