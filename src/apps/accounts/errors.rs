//! How the accounts service's errors answer over HTTP, for pages and the JSON API alike: the
//! one place where `AccountsError` meets `AppError`.

use super::service::{AccountsError, INVALID_CREDENTIALS, INVALID_TOKEN, NOT_CONFIRMED};
use crate::kernel::http::AppError;

impl From<AccountsError> for AppError {
    fn from(err: AccountsError) -> Self {
        match err {
            AccountsError::Invalid(errors) => AppError::Invalid(errors),
            AccountsError::InvalidCredentials => AppError::BadRequest(INVALID_CREDENTIALS.into()),
            AccountsError::NotConfirmed => AppError::BadRequest(NOT_CONFIRMED.into()),
            AccountsError::InvalidToken => AppError::BadRequest(INVALID_TOKEN.into()),
            AccountsError::Throttled(retry_after) => AppError::TooManyRequests { retry_after },
            AccountsError::Forbidden => {
                tracing::warn!(event = "authz_denied", "account change refused");
                AppError::Forbidden
            }
            AccountsError::NotFound => AppError::NotFound,
            AccountsError::Internal(err) => AppError::Internal(err),
        }
    }
}
