mod api_compat;
mod login;
mod pages;
mod profile;
mod reset;
mod security;
mod signup;
mod staff;
