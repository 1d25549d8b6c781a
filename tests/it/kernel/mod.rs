mod faults;
mod jobs;
mod mail;
mod production;
mod schema;
mod seed;
mod server;
