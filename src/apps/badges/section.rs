//! The badges' part of a user's account: a line on the profile page, every award and imported
//! badge in the data export. Awards go with the account (their rows cascade); their public pages then answer 404.

use async_trait::async_trait;
use serde_json::json;

use super::{service, store};
use crate::apps::accounts::{Summary, SummaryLine, User, UserSection};
use crate::kernel::AppState;
use crate::kernel::db::Tx;

pub struct BadgesSection;

#[async_trait]
impl UserSection for BadgesSection {
    fn key(&self) -> &'static str {
        "badges"
    }

    async fn summary(&self, state: &AppState, user: &User) -> anyhow::Result<Summary> {
        let count = store::count_awards(&state.db.pool, user.id).await?;
        Ok(Summary {
            title: "Badges".into(),
            lines: vec![SummaryLine {
                label: "Badges awarded to you".into(),
                value: count.to_string(),
                link: Some("/badges/".into()),
            }],
        })
    }

    async fn export(&self, state: &AppState, user: &User) -> anyhow::Result<serde_json::Value> {
        let base = state.settings.base_url();
        let awards = service::my_awards(state, user).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let awards: Vec<_> = awards
            .into_iter()
            .map(|(a, b)| {
                json!({"id": a.id, "badge": b.name, "issued_on": a.issued_on, "expires_at": a.expires_at,
                       "revoked_at": a.revoked_at, "verify_url": format!("{base}/badges/awards/{}/", a.id)})
            })
            .collect();
        let imported = service::imports::my_imports(state, user).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let imported: Vec<_> = imported
            .into_iter()
            .map(|i| {
                json!({"badge": i.badge_name, "issuer": i.issuer_name, "open_badges": i.ob_version,
                             "original": i.original, "status": i.status, "verified_at": i.verified_at})
            })
            .collect();
        Ok(json!({"awards": awards, "imported": imported}))
    }

    async fn before_delete(&self, _tx: &mut Tx, _user: &User) -> anyhow::Result<()> {
        Ok(())
    }
}
