mod faults;
mod jobs;
mod mail;
mod outbound;
mod production;
mod schema;
mod seed;
mod server;
