//! Importing a badge earned elsewhere: it is verified (see `verify`) and kept only when every
//! check passes; the report is kept with it, shown apart from our own badges, and the
//! verification is run again by a daily job (a revocation or expiry then shows).

use super::verify::{Report, Source, Verifier};
use super::{BadgesError, Result};
use crate::apps::accounts::{self, User};
use crate::apps::badges::model::{Imported, new_id};
use crate::apps::badges::store::{self, IMPORT_KEY};
use crate::kernel::AppState;
use crate::kernel::db::violates;
use crate::kernel::outbound::Outbound;
use crate::kernel::validation::FieldErrors;

/// Imports verified longer ago than this are verified again by the daily job.
const REVERIFY_AFTER_SECS: i64 = 20 * 3600;
const REVERIFY_BATCH: i64 = 100;

/// The holder's addresses a badge may be awarded to: their confirmed account and personal ones.
async fn confirmed_emails(state: &AppState, user: &User) -> Result<Vec<String>> {
    Ok(accounts::confirmed_emails(state, user).await?)
}

async fn run(state: &AppState, emails: &[String], source: Source) -> Result<Report> {
    let outbound = Outbound::from_settings(&state.settings)?;
    Ok(Verifier { outbound: &outbound, emails, now: state.clock.now() }.verify(source).await)
}

/// Verifies and, when valid, keeps the badge; a refusal carries the report.
pub async fn import_badge(state: &AppState, user: &User, file: Option<Vec<u8>>, url: &str) -> Result<Imported> {
    let source = match (file, url.trim()) {
        (Some(bytes), _) => Source::File(bytes),
        (None, url) if url.starts_with("https://") || url.starts_with("http://") => Source::Url(url.to_owned()),
        _ => {
            return Err(BadgesError::Invalid(FieldErrors::single(
                "image",
                "Upload a badge file or paste its address.",
            )));
        }
    };
    let report = run(state, &confirmed_emails(state, user).await?, source).await?;
    if report.status() != "valid" {
        return Err(BadgesError::Refused(Box::new(report)));
    }
    let now = state.clock.now();
    let imported = Imported {
        id: new_id(),
        user_id: user.id,
        source_id: report.source_id.clone(),
        ob_version: report.version.clone(),
        original: report.original.clone(),
        badge_name: report.badge_name.clone(),
        issuer_name: report.issuer_name.clone(),
        image_url: report.image_url.clone(),
        issued_on: report.issued_on,
        expires_at: report.expires_at,
        status: report.status().to_owned(),
        report: serde_json::to_string(&report.checks).map_err(|e| BadgesError::Internal(e.into()))?,
        verified_at: now,
    };
    let mut tx = state.db.begin_write().await?;
    if let Err(err) = store::insert_import(&mut tx, &imported, now).await {
        if violates(&err, IMPORT_KEY) {
            return Err(BadgesError::Invalid(FieldErrors::single("image", "You have already imported this badge.")));
        }
        return Err(err.into());
    }
    tx.commit().await?;
    tracing::info!(event = "badge_imported", user_id = user.id, version = %imported.ob_version, "badge imported");
    Ok(imported)
}

/// Verifies one import again now and stores the outcome.
pub async fn reverify(state: &AppState, imported: &Imported, emails: &[String]) -> Result<Report> {
    let report = run(state, emails, Source::Stored(imported.original.clone())).await?;
    let checks = serde_json::to_string(&report.checks).map_err(|e| BadgesError::Internal(e.into()))?;
    store::update_verification(&state.db.pool, &imported.id, report.status(), &checks, state.clock.now()).await?;
    Ok(report)
}

/// The holder's own import (404 for anyone else's).
pub async fn my_import(state: &AppState, user: &User, id: &str) -> Result<Imported> {
    store::find_import(&state.db.pool, id).await?.filter(|i| i.user_id == user.id).ok_or(BadgesError::NotFound)
}

pub async fn reverify_mine(state: &AppState, user: &User, id: &str) -> Result<Imported> {
    let imported = my_import(state, user, id).await?;
    reverify(state, &imported, &confirmed_emails(state, user).await?).await?;
    my_import(state, user, id).await
}

pub async fn delete_import(state: &AppState, user: &User, id: &str) -> Result<()> {
    Ok(store::delete_import(&state.db.pool, id, user.id).await?)
}

pub async fn my_imports(state: &AppState, user: &User) -> Result<Vec<Imported>> {
    Ok(store::imports_of(&state.db.pool, user.id).await?)
}

/// The daily job: verifies again every import not verified for a while; returns how many.
pub async fn reverify_stale(state: &AppState) -> anyhow::Result<usize> {
    let stale = store::stale_imports(&state.db.pool, state.clock.now() - REVERIFY_AFTER_SECS, REVERIFY_BATCH).await?;
    for imported in &stale {
        let holder = accounts::find_user(state, imported.user_id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let emails = match &holder {
            Some(user) => confirmed_emails(state, user).await.map_err(|e| anyhow::anyhow!("{e}"))?,
            None => Vec::new(),
        };
        reverify(state, imported, &emails).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(stale.len())
}
