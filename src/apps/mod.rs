//! The apps, each the same shape (model, store, service, forms, pages, api, emails).

pub mod accounts;
pub mod admin;
pub mod blog;
pub mod devmail;
pub mod home;
