//! Progress from the learning platform (docs/learning-platform.md): read by a background job
//! through the kernel's outbound client (timeouts, size limit, address guard), one person and
//! course at a time, and kept; pages only show what was last read and when. A failed read keeps
//! the last known progress and notes the failure.

use serde_json::Value;

use crate::apps::badges::store;
use crate::kernel::AppState;
use crate::kernel::config::Secret;
use crate::kernel::outbound::{ExtraHeader, Outbound};

/// People who have not logged in for this long are not read.
const ACTIVE_WITHIN_SECS: i64 = 30 * 86_400;
/// Reads per run of the job (it runs every few minutes).
const BATCH: i64 = 500;

/// `{email}` and `{course}` filled in, each percent-encoded as one path segment.
pub fn progress_url(base: &str, template: &str, email: &str, course: &str) -> String {
    let path = template.replace("{email}", &encode_segment(email)).replace("{course}", &encode_segment(course));
    format!("{}{path}", base.trim_end_matches('/'))
}

fn encode_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The documented answer: `{"percent": 0–100, "completed": bool}`.
pub fn parse_progress(doc: &Value) -> Result<(i64, bool), String> {
    let percent = doc.get("percent").and_then(Value::as_f64).ok_or("The answer has no number \"percent\".")?;
    if !(0.0..=100.0).contains(&percent) {
        return Err("\"percent\" is not between 0 and 100.".into());
    }
    let completed = doc.get("completed").and_then(Value::as_bool).unwrap_or(percent >= 100.0);
    // Rounded down: 99.9 % is not done.
    #[allow(clippy::cast_possible_truncation)]
    Ok((percent.floor() as i64, completed))
}

/// The job: reads progress that is stale or never read; returns how many were read.
pub async fn read_progress(state: &AppState) -> anyhow::Result<usize> {
    let settings = &state.settings;
    let Some(base) = &settings.learning_base_url else { return Ok(0) };
    let outbound = Outbound::from_settings(settings)?;
    let token = settings.learning_token.as_ref().map(|t| Secret::new(format!("Bearer {}", t.expose())));
    let headers: Vec<ExtraHeader> =
        token.map(|value| ExtraHeader { name: "authorization".into(), value }).into_iter().collect();
    let now = state.clock.now();
    let stale = now - settings.learning_refresh_minutes * 60;
    let pairs = store::stale_progress(&state.db.pool, stale, now - ACTIVE_WITHIN_SECS, BATCH).await?;
    for (user_id, email, badge_id, course) in &pairs {
        let url = progress_url(base, &settings.learning_path_template, &email.to_lowercase(), course);
        let outcome = match outbound.get_json(&url, &headers).await {
            Ok(doc) => parse_progress(&doc),
            Err(err) => Err(err.to_string()),
        };
        match outcome {
            Ok((percent, completed)) => {
                store::record_progress(&state.db.pool, *user_id, badge_id, percent, completed, now).await?
            }
            Err(error) => {
                tracing::warn!(event = "learning_read_failed", user_id, error = %error, "learning platform read failed");
                store::record_failure(&state.db.pool, *user_id, badge_id, &error, now).await?;
            }
        }
    }
    Ok(pairs.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_path_template_is_filled_with_encoded_segments() {
        let url = progress_url(
            "https://learn.example.com/",
            "/api/v1/users/{email}/courses/{course}/progress",
            "zoë@example.com",
            "py 🐍/../x",
        );
        assert_eq!(
            url,
            "https://learn.example.com/api/v1/users/zo%C3%AB@example.com/courses/py%20%F0%9F%90%8D%2F..%2Fx/progress"
        );
    }

    #[test]
    fn only_the_documented_shape_is_accepted() {
        assert_eq!(parse_progress(&json!({"percent": 42.7})), Ok((42, false)));
        assert_eq!(parse_progress(&json!({"percent": 100, "completed": true})), Ok((100, true)));
        assert!(parse_progress(&json!({"percent": "42"})).is_err());
        assert!(parse_progress(&json!({"percent": 140})).is_err());
        assert!(parse_progress(&json!(["percent", 1])).is_err());
    }
}
