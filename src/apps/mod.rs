//! The apps. A full app has one shape (model, store, service, forms, pages, api, emails, errors;
//! ARCHITECTURE.md); a small one (`home`, `devmail`) is a single file, and an app keeps only the
//! parts it needs (the console has no store of its own: it calls the other apps' services).

pub mod accounts;
pub mod admin;
pub mod badges;
pub mod blog;
pub mod devmail;
pub mod home;
pub mod questions;
