//! Operations: what runs around the app rather than inside it — setting up a server, and the
//! report format every operations check prints. Uses the kernel, never an app (`src/apps/*`).

pub mod report;
pub mod server;
