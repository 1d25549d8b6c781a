//! Validation results that every layer shares: messages per field, produced by the model's
//! parsers and the services, shown beside form inputs by pages and as `errors` by the JSON API.
//! Knows nothing of HTTP.

use std::collections::BTreeMap;

use serde::Serialize;

/// Per-field messages for a form or a JSON body, keyed (and ordered) by field name.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first message for `field`, for showing beside its input.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).and_then(|m| m.first()).map(String::as_str)
    }

    /// One message that sums the errors up: the first message of the first field by name.
    pub fn summary(&self) -> String {
        self.0.values().flatten().next().cloned().unwrap_or_else(|| "Invalid input.".into())
    }
}
