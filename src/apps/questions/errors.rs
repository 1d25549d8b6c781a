//! How the questions service's errors answer over HTTP.

use super::service::QuestionError;
use crate::kernel::http::AppError;

impl From<QuestionError> for AppError {
    fn from(err: QuestionError) -> Self {
        match err {
            QuestionError::Invalid(errors) => AppError::Invalid(errors),
            QuestionError::NotFound => AppError::NotFound,
            QuestionError::Internal(err) => AppError::Internal(err),
        }
    }
}
