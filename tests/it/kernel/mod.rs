mod jobs;
mod mail;
mod schema;
