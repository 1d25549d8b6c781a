//! Awards: staff award a badge to one person or many (a list of emails or usernames, checked in
//! a preview first, with a report of what failed), and revoke with a reason. Holders read their
//! own awards; anyone may read one award by its id (the public verification page).

use std::net::IpAddr;

use rand::RngCore;

use super::{BadgesError, Result, get_class};
use crate::apps::accounts::{self, User};
use crate::apps::badges::model::{Award, BadgeClass, new_id, parse_web_url};
use crate::apps::badges::store::{self, NewAward};
use crate::kernel::AppState;
use crate::kernel::audit::{self, Actor, Event};
use crate::kernel::db::violates;
use crate::kernel::security::token::hex;
use crate::kernel::validation::FieldErrors;

/// At most this many recipients in one award.
pub const MAX_RECIPIENTS: usize = 500;
const MAX_EVIDENCE: usize = 4000;
const MAX_REASON: usize = 500;

/// What staff fill in to award a badge.
#[derive(Clone, Debug, Default)]
pub struct AwardInput {
    /// Emails or usernames, one per line or separated by commas or semicolons (a CSV column).
    pub recipients: String,
    pub evidence_url: String,
    pub evidence_text: String,
}

/// One line of the recipient list, and what awarding it would do.
#[derive(Clone, Debug)]
pub struct RecipientCheck {
    pub input: String,
    pub user: Option<User>,
    /// Why this line cannot be awarded; None when it can.
    pub problem: Option<&'static str>,
}

/// What an award did: the awards made (recipient, award id) and the lines that failed.
#[derive(Debug, Default)]
pub struct AwardReport {
    pub awarded: Vec<(String, String)>,
    pub failed: Vec<(String, &'static str)>,
}

/// The entries of a pasted list or CSV column: trimmed, without a header and duplicates.
fn recipient_lines(raw: &str) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    raw.split(['\n', ',', ';'])
        .map(|s| s.trim().trim_matches('"').trim())
        .filter(|s| !s.is_empty() && !["email", "username", "e-mail"].contains(&s.to_lowercase().as_str()))
        .filter(|s| seen.insert(s.to_lowercase()))
        .map(str::to_owned)
        .collect()
}

/// The preview: every line with the account it names and whether it can be awarded.
pub async fn check_recipients(state: &AppState, badge: &BadgeClass, raw: &str) -> Result<Vec<RecipientCheck>> {
    let mut checks = Vec::new();
    for input in recipient_lines(raw).into_iter().take(MAX_RECIPIENTS) {
        let user = accounts::find_user_by_login(state, &input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let problem = match &user {
            None => Some("No account with this email or username."),
            Some(user) if !user.is_active => Some("This account is disabled."),
            Some(user) if store::holds_badge(&state.db.pool, user.id, &badge.id).await? => {
                Some("Already holds this badge.")
            }
            Some(_) => None,
        };
        checks.push(RecipientCheck { input, user, problem });
    }
    Ok(checks)
}

fn validate(input: &AwardInput) -> Result<(String, String)> {
    let mut errors = FieldErrors::new();
    if recipient_lines(&input.recipients).is_empty() {
        errors.add("recipients", "List at least one email address or username.");
    } else if recipient_lines(&input.recipients).len() > MAX_RECIPIENTS {
        errors.add("recipients", format!("Award at most {MAX_RECIPIENTS} people at once."));
    }
    let url = match input.evidence_url.trim() {
        "" => String::new(),
        raw => parse_web_url(raw).map_err(|e| errors.add("evidence_url", e)).unwrap_or_default(),
    };
    let text = input.evidence_text.trim().to_owned();
    if text.chars().count() > MAX_EVIDENCE {
        errors.add("evidence_text", format!("Use at most {MAX_EVIDENCE} characters."));
    }
    if errors.is_empty() { Ok((url, text)) } else { Err(BadgesError::Invalid(errors)) }
}

/// Awards `badge_id` to every line that can have it, in one transaction; reports the rest.
pub async fn award_badge(
    state: &AppState,
    staff: &User,
    ip: IpAddr,
    badge_id: &str,
    input: &AwardInput,
) -> Result<AwardReport> {
    if !staff.is_staff {
        return Err(BadgesError::Forbidden);
    }
    let badge = get_class(state, badge_id).await?;
    let (evidence_url, evidence_text) = validate(input)?;
    let checks = check_recipients(state, &badge, &input.recipients).await?;
    for attempt in 0..3 {
        match award_all(state, staff, ip, &badge, &checks, (&evidence_url, &evidence_text)).await {
            // Two awards raced for the same status-list index: try again.
            Err(BadgesError::Internal(err)) if attempt < 2 && is_index_race(&err) => continue,
            other => return other,
        }
    }
    unreachable!("the loop returns on its last attempt")
}

fn is_index_race(err: &anyhow::Error) -> bool {
    err.downcast_ref::<sqlx::Error>().is_some_and(|e| violates(e, "badge_awards_status_index"))
}

async fn award_all(
    state: &AppState,
    staff: &User,
    ip: IpAddr,
    badge: &BadgeClass,
    checks: &[RecipientCheck],
    evidence: (&str, &str),
) -> Result<AwardReport> {
    let now = state.clock.now();
    let expires_at = badge.valid_days.map(|days| now + days * 86_400);
    let mut report = AwardReport::default();
    let mut tx = state.db.begin_write().await?;
    for check in checks {
        let (Some(user), None) = (&check.user, check.problem) else {
            report.failed.push((check.input.clone(), check.problem.unwrap_or("Cannot be awarded.")));
            continue;
        };
        let id = new_id();
        let new = NewAward {
            id: &id,
            badge_id: &badge.id,
            recipient_id: user.id,
            recipient_email: &user.email,
            recipient_name: &full_name(user),
            salt: &salt(),
            expires_at,
            evidence_url: evidence.0,
            evidence_text: evidence.1,
            issued_by: (staff.id, &staff.username),
        };
        store::insert_award(&mut tx, &new, now).await?;
        let event = Event::new(Actor::user(staff.id, &staff.username, ip), "badge.awarded", "user", Some(user.id))
            .named(&user.username)
            .because(&format!("{} ({id})", badge.name));
        audit::record(&mut tx, &event, now).await?;
        report.awarded.push((check.input.clone(), id));
    }
    tx.commit().await?;
    Ok(report)
}

/// How the holder is named on the award: first and last name, else the username.
fn full_name(user: &User) -> String {
    let name = format!("{} {}", user.first_name, user.last_name).trim().to_owned();
    if name.is_empty() { user.username.clone() } else { name }
}

fn salt() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

pub async fn revoke_award(state: &AppState, staff: &User, ip: IpAddr, award_id: &str, reason: &str) -> Result<Award> {
    if !staff.is_staff {
        return Err(BadgesError::Forbidden);
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(BadgesError::Invalid(FieldErrors::single(
            "reason",
            format!("Say why, in at most {MAX_REASON} characters."),
        )));
    }
    let award = store::find_award(&state.db.pool, award_id).await?.ok_or(BadgesError::NotFound)?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    if store::revoke_award(&mut tx, &award.id, reason, now).await? {
        let event =
            Event::new(Actor::user(staff.id, &staff.username, ip), "badge.revoked", "user", Some(award.recipient_id))
                .named(&award.recipient_name)
                .because(&format!("{reason} ({})", award.id));
        audit::record(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    store::find_award(&state.db.pool, &award.id).await?.ok_or(BadgesError::NotFound)
}

/// The user's own awards, newest first, each with its badge.
pub async fn my_awards(state: &AppState, user: &User) -> Result<Vec<(Award, BadgeClass)>> {
    let mut out = Vec::new();
    for award in store::awards_of(&state.db.pool, user.id).await? {
        let badge = get_class(state, &award.badge_id).await?;
        out.push((award, badge));
    }
    Ok(out)
}

/// One award and its badge, for anyone who has the award's id.
pub async fn public_award(state: &AppState, id: &str) -> Result<(Award, BadgeClass)> {
    if !crate::apps::badges::model::is_id(id) {
        return Err(BadgesError::NotFound);
    }
    let mut award = store::find_award(&state.db.pool, id).await?.ok_or(BadgesError::NotFound)?;
    // Issued to the holder's confirmed personal address when there is one: the documents are
    // built on every request, so the badge keeps verifying for them after they leave.
    if let Some(personal) = accounts::badge_address(state, award.recipient_id).await? {
        award.recipient_email = personal;
    }
    let badge = get_class(state, &award.badge_id).await?;
    Ok((award, badge))
}

#[cfg(test)]
mod tests {
    use super::recipient_lines;

    #[test]
    fn a_pasted_csv_column_becomes_distinct_recipients() {
        let raw = "email\n\"zoë@example.com\"\nbob@example.com; alice-🐍\r\nBOB@example.com,\n\n";
        assert_eq!(recipient_lines(raw), ["zoë@example.com", "bob@example.com", "alice-🐍"]);
    }
}
