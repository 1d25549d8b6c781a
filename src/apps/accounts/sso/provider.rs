//! The OpenID Connect back channel: discovery (cached, with the provider's keys), the
//! authorization URL with PKCE (S256), state and nonce, and the code exchange with ID token
//! checks (signature, issuer, audience, expiry, nonce). Keys are fetched again once when a token
//! names a key we do not know. The HTTP client follows no redirects and gives up after the
//! configured timeout; the client secret never leaves `openidconnect`'s own secret type.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType,
    CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl, RequestTokenError,
    Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use super::SsoConfig;

/// Discovery and keys are read again after this long.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// RFC 9207: whether the provider puts `iss` on its redirect back to us.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IssParameter {
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}
impl AdditionalProviderMetadata for IssParameter {}

type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Why the back channel failed, in words a sign-in page can act on.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Discovery, keys or the token endpoint did not answer (down, slow, or not an OIDC provider).
    #[error("the identity provider is unreachable: {0}")]
    Unreachable(String),
    /// The token endpoint refused the code (expired, used, or the PKCE verifier did not match).
    #[error("the identity provider refused the code: {0}")]
    CodeRefused(String),
    /// The ID token is missing or failed a check (signature, issuer, audience, expiry, nonce).
    #[error("the ID token failed verification: {0}")]
    BadToken(String),
}

/// What starting a login hands the browser and what the callback must find again.
pub struct LoginStart {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// The verified ID token: its issuer and subject, and every claim it carries.
#[derive(Debug)]
pub struct VerifiedToken {
    pub issuer: String,
    pub subject: String,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

struct Cached {
    metadata: Metadata,
    fetched_at: Instant,
}

/// One per app: the HTTP client and the provider's cached metadata and keys.
#[derive(Clone, Default)]
pub struct SsoClient {
    cached: Arc<RwLock<Option<Cached>>>,
}

impl std::fmt::Debug for SsoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SsoClient")
    }
}

/// The back-channel client: no redirects (a redirect could point the secret at another host),
/// bounded connect and total time.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, ProviderError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .build()
        .map_err(|e| ProviderError::Unreachable(e.to_string()))
}

impl SsoClient {
    async fn metadata(&self, config: &SsoConfig, refresh: bool) -> Result<Metadata, ProviderError> {
        if !refresh {
            let cached = self.cached.read().await;
            if let Some(cached) = cached.as_ref().filter(|c| c.fetched_at.elapsed() < METADATA_TTL) {
                return Ok(cached.metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        let http = http_client(config.timeout)?;
        let metadata =
            Metadata::discover_async(issuer, &http).await.map_err(|e| ProviderError::Unreachable(error_chain(&e)))?;
        *self.cached.write().await = Some(Cached { metadata: metadata.clone(), fetched_at: Instant::now() });
        Ok(metadata)
    }

    fn client(
        config: &SsoConfig,
        metadata: Metadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        ProviderError,
    > {
        let redirect =
            RedirectUrl::new(config.redirect_uri.clone()).map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(config.client_secret.expose().to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// Whether the provider promises `iss` on the redirect back (then it must be there).
    pub async fn sends_iss(&self, config: &SsoConfig) -> Result<bool, ProviderError> {
        let metadata = self.metadata(config, false).await?;
        Ok(metadata.additional_metadata().authorization_response_iss_parameter_supported == Some(true))
    }

    /// The provider's authorization URL for a new login, with fresh state, nonce and PKCE pair.
    pub async fn start(&self, config: &SsoConfig) -> Result<LoginStart, ProviderError> {
        let client = Self::client(config, self.metadata(config, false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = config.scopes.iter().filter(|s| *s != "openid").map(|s| Scope::new(s.clone()));
        let (url, state, nonce) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(scopes)
            .set_pkce_challenge(challenge)
            .url();
        Ok(LoginStart {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    /// Trades the code for tokens (with the PKCE verifier) and verifies the ID token.
    pub async fn finish(
        &self,
        config: &SsoConfig,
        code: String,
        verifier: String,
        nonce: &str,
        now: i64,
    ) -> Result<VerifiedToken, ProviderError> {
        let client = Self::client(config, self.metadata(config, false).await?)?;
        let http = http_client(config.timeout)?;
        let request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        let response =
            request.set_pkce_verifier(PkceCodeVerifier::new(verifier)).request_async(&http).await.map_err(|err| {
                match err {
                    RequestTokenError::ServerResponse(body) => ProviderError::CodeRefused(body.error().to_string()),
                    other => ProviderError::Unreachable(error_chain(&other)),
                }
            })?;
        let id_token = response.id_token().ok_or_else(|| ProviderError::BadToken("no ID token".into()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let verify = |client: &CoreClient<_, _, _, _, _, _>| {
            let verifier = client.id_token_verifier().set_time_fn(move || time_of(now));
            id_token.claims(&verifier, &nonce).map(|c| (c.issuer().to_string(), c.subject().to_string()))
        };
        let (issuer, subject) = match verify(&client) {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                // The provider rotated its keys since we cached them.
                let fresh = Self::client(config, self.metadata(config, true).await?)?;
                verify(&fresh)
            }
            other => other,
        }
        .map_err(|e| ProviderError::BadToken(e.to_string()))?;
        Ok(VerifiedToken { issuer, subject, claims: payload_of(&id_token.to_string())? })
    }
}

/// The claims of a JWT whose signature has just been verified, as JSON (for the claims the
/// crate's standard set does not name, like groups or roles).
fn payload_of(jwt: &str) -> Result<serde_json::Map<String, serde_json::Value>, ProviderError> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).ok_or_else(|| ProviderError::BadToken("not a JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| ProviderError::BadToken(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| ProviderError::BadToken(e.to_string()))
}

/// The app's "now" (movable in tests) as the ID token checks want it.
fn time_of(now: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(now, 0).unwrap_or_default()
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
