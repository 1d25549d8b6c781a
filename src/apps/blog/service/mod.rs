//! The blog's rules, shared by the pages, the REST API and GraphQL: who may post, edit, delete
//! and like; quotas; and the life of uploaded images. No HTTP types here.

mod media;
mod posts;

use std::time::Duration;

pub use media::sweep_media;
pub use posts::{
    activity, counts, create_post, delete_post, editable, fold_unsearchable, get_post, list_posts, toggle_like,
    update_post,
};

use crate::kernel::media::ImageError;
use crate::kernel::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum BlogError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("sign in first")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    #[error("no such post")]
    NotFound,
    #[error("quota exceeded")]
    Throttled(Duration),
    #[error("upload too large")]
    TooLarge,
    /// Image processing is at its memory budget: try again shortly.
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for BlogError {
    fn from(err: sqlx::Error) -> Self {
        BlogError::Internal(err.into())
    }
}

impl From<ImageError> for BlogError {
    fn from(err: ImageError) -> Self {
        match err {
            ImageError::Busy => BlogError::Busy,
            other => BlogError::Invalid(FieldErrors::single("image", other.to_string())),
        }
    }
}

pub type Result<T> = std::result::Result<T, BlogError>;
