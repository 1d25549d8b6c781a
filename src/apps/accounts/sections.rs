//! What other apps keep about a user, offered to accounts through one trait so that accounts
//! never imports them: each section shows on the profile page, goes into the data export, and
//! tidies its rows inside the transaction that deletes the account. `lib.rs` (the composition
//! root) lists the sections, as it lists job kinds, and hands them to every handler.

use std::sync::Arc;

use async_trait::async_trait;

use super::model::User;
use crate::kernel::AppState;
use crate::kernel::db::Tx;

/// One line of a section on the profile page: `label: value`, the value a link when `link` is set.
#[derive(Clone, Debug)]
pub struct SummaryLine {
    pub label: String,
    pub value: String,
    pub link: Option<String>,
}

/// A section of the profile page.
#[derive(Clone, Debug)]
pub struct Summary {
    pub title: String,
    pub lines: Vec<SummaryLine>,
}

/// A user's data held by another app.
#[async_trait]
pub trait UserSection: Send + Sync {
    /// The section's key in the data export (`"blog"`).
    fn key(&self) -> &'static str;

    /// What the profile page shows.
    async fn summary(&self, state: &AppState, user: &User) -> anyhow::Result<Summary>;

    /// Everything the app holds about the user, for "download my data".
    async fn export(&self, state: &AppState, user: &User) -> anyhow::Result<serde_json::Value>;

    /// Runs in the transaction that deletes the user, before the user's row goes (rows that
    /// reference it cascade or keep a NULL author; this is for what they leave inconsistent).
    async fn before_delete(&self, tx: &mut Tx, user: &User) -> anyhow::Result<()>;
}

/// Every registered section, in the order the profile page shows them.
#[derive(Clone, Default)]
pub struct UserSections(Arc<Vec<Arc<dyn UserSection>>>);

impl UserSections {
    pub fn new(sections: Vec<Arc<dyn UserSection>>) -> Self {
        Self(Arc::new(sections))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn UserSection>> {
        self.0.iter()
    }
}

impl std::fmt::Debug for UserSections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter().map(|s| s.key())).finish()
    }
}
