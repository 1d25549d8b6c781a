//! HTTP plumbing shared by every app: the middleware stack (with the session cookie), the error
//! type, extractors, CSRF and page rendering.

pub mod assets;
pub mod bodies;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod failure;
pub mod health;
pub mod hosts;
pub mod layers;
pub mod multipart;
pub mod redirect;
pub mod render;
pub mod server;

pub use error::{AppError, ErrorBody};
pub use extract::{ApiJson, ClientIp, CompatJson, CsrfForm};
pub use render::{PageContext, render};
