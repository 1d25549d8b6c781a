//! Single sign-on through any standard OpenID Connect provider (ADFS, Entra ID, Okta, Google
//! Workspace, Keycloak…), configured by the `OIDC_*` settings. `provider` speaks the protocol;
//! `claims` turns a verified ID token into the profile the account rules (`service::sso`) decide
//! on. Nothing here trusts an email for identity: a person is (issuer, subject).

mod claims;
mod provider;

use std::time::Duration;

pub use claims::{SsoProfile, profile_from};
pub use provider::{ProviderError, SsoClient};

use crate::kernel::config::{NewSsoUsers, Secret, Settings};

/// The callback path registered with the provider (under `BASE_URL`).
pub const CALLBACK_PATH: &str = "/accounts/sso/callback/";

/// The single sign-on settings, present only when an issuer is configured.
#[derive(Clone, Debug)]
pub struct SsoConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub timeout: Duration,
    /// Lower-cased; empty means any domain.
    pub allowed_domains: Vec<String>,
    pub staff_claim: String,
    pub staff_values: Vec<String>,
    pub new_users: NewSsoUsers,
    pub trust_missing_email_verified: bool,
}

impl SsoConfig {
    pub fn from_settings(settings: &Settings) -> Option<Self> {
        let issuer = settings.oidc_issuer_url.as_ref()?.trim().trim_end_matches('/').to_owned();
        Some(Self {
            issuer,
            client_id: settings.oidc_client_id.clone(),
            client_secret: settings.oidc_client_secret.clone().unwrap_or_default(),
            redirect_uri: format!("{}{CALLBACK_PATH}", settings.base_url()),
            scopes: settings.oidc_scopes.split([' ', ',']).filter(|s| !s.is_empty()).map(String::from).collect(),
            timeout: Duration::from_secs(settings.oidc_timeout_secs),
            allowed_domains: settings
                .oidc_allowed_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            staff_claim: settings.oidc_staff_claim.clone(),
            staff_values: settings
                .oidc_staff_values
                .iter()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect(),
            new_users: settings.oidc_new_users,
            trust_missing_email_verified: settings.oidc_trust_missing_email_verified,
        })
    }

    /// Whether an address on `domain` may sign in (and be linked).
    pub fn domain_allowed(&self, domain: &str) -> bool {
        self.allowed_domains.is_empty() || self.allowed_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}
