//! Page form input for the console's badge forms. Fields default to empty, so a missing field
//! is a form error rather than a 400 from the extractor.

use serde::Deserialize;

use super::model::BadgeClassInput;
use super::service::AwardInput;
use crate::kernel::http::multipart::MultipartInput;

/// The badge design form (multipart: it may carry an image).
pub fn class_input(form: MultipartInput) -> BadgeClassInput {
    let text = |name: &str| form.text(name).unwrap_or("").to_owned();
    BadgeClassInput {
        name: text("name"),
        slug: text("slug"),
        description: text("description"),
        criteria: text("criteria"),
        image_url: text("image_url"),
        valid_days: text("valid_days"),
        course_id: text("course_id"),
        image: form.file,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AwardForm {
    pub recipients: String,
    pub evidence_url: String,
    pub evidence_text: String,
    /// `preview` (check the list) or `award` (do it).
    pub action: String,
}

impl AwardForm {
    pub fn input(&self) -> AwardInput {
        AwardInput {
            recipients: self.recipients.clone(),
            evidence_url: self.evidence_url.clone(),
            evidence_text: self.evidence_text.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevokeForm {
    pub reason: String,
}

/// A form that is only a button (plus its CSRF token).
#[derive(Debug, Default, Deserialize)]
pub struct ButtonForm {}
