//! Password hashing and policy, link tokens, and rate limits.

pub mod password;
pub mod policy;
pub mod ratelimit;
pub mod token;
