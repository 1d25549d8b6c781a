//! One integration-test binary: every test boots the real router on 127.0.0.1 with a fresh
//! database (SQLite, or PostgreSQL when TEST_DATABASE_URL names a server) and talks HTTP to it.

mod accounts;
mod admin;
mod architecture;
mod badges;
mod blog;
mod kernel;
mod ops;
mod questions;
mod support;
