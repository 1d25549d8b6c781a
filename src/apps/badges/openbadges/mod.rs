//! Open Badges: the 2.0 hosted documents (`ob2`), the 3.0 credentials signed as VC-JWT with
//! Ed25519 (`ob3`), baking into PNG and SVG images and reading them back (`bake`). Pure
//! functions over the badge model: no database, no HTTP.

pub mod bake;
pub mod ob2;
pub mod ob3;

/// An ISO 8601 / RFC 3339 UTC timestamp, as both specifications want dates.
pub fn iso8601(ts: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp(ts).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

/// Where the issuer's documents live, under the app's public address.
#[derive(Clone, Debug)]
pub struct Issuer {
    pub base_url: String,
    pub name: String,
    pub email: Option<String>,
}
