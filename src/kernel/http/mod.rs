//! HTTP plumbing shared by every app: the middleware stack, the error type, extractors,
//! sessions, CSRF and page rendering.

pub mod assets;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod layers;
pub mod multipart;
pub mod redirect;
pub mod render;
pub mod session;

pub use error::{AppError, ErrorBody, FieldErrors};
pub use extract::{ApiJson, ClientIp, CsrfForm};
pub use render::{PageContext, render};
