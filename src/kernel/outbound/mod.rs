//! The one outbound HTTP client: every app that reads an outside API goes through `Outbound`.
//! It holds connect and total timeouts, a user agent, a response size limit checked while the
//! body streams in (never buffered past the limit), at most a few redirects and never to another
//! scheme, and the address guard of `guard.rs`. Errors come back as `FetchError` kinds with
//! messages for staff. It sends no cookies, asks for no compression and reads no proxy settings.

mod error;
mod guard;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Url, redirect};

pub use error::{FetchError, Phase};
pub use guard::{Reach, is_public};

use crate::kernel::config::{Secret, Settings};

/// Redirects followed at most; each must keep the scheme and pass the address guard.
const MAX_REDIRECTS: usize = 3;

/// Time and size bounds for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub connect_timeout: Duration,
    /// From sending the request to the last byte of the body.
    pub total_timeout: Duration,
    pub max_bytes: usize,
}

/// An extra request header, such as an API token; its value never prints.
#[derive(Clone, Debug)]
pub struct ExtraHeader {
    pub name: String,
    pub value: Secret,
}

/// A successful (2xx) response, read in full within the limits.
#[derive(Clone, Debug)]
pub struct Body {
    pub status: u16,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
    pub elapsed: Duration,
}

#[derive(Clone, Debug)]
pub struct Outbound {
    client: reqwest::Client,
    reach: Reach,
    limits: Limits,
}

impl Outbound {
    /// The client for `reach`, with `user_agent` on every request.
    pub fn new(reach: Reach, limits: Limits, user_agent: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .connect_timeout(limits.connect_timeout)
            .redirect(redirect_policy(reach))
            .dns_resolver(Arc::new(guard::GuardedResolver(reach)))
            .no_proxy()
            .build()?;
        Ok(Self { client, reach, limits })
    }

    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let reach = if settings.outbound_allow_loopback { Reach::PublicAndLoopback } else { Reach::Public };
        let limits = Limits {
            connect_timeout: Duration::from_millis(settings.outbound_connect_timeout_ms),
            total_timeout: Duration::from_millis(settings.outbound_timeout_ms),
            max_bytes: settings.outbound_max_bytes,
        };
        let user_agent = format!("Shoestring/{} (+{})", env!("CARGO_PKG_VERSION"), settings.base_url());
        Self::new(reach, limits, &user_agent)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn reach(&self) -> Reach {
        self.reach
    }

    /// Parses `url` and checks it against the address guard, without connecting (for forms).
    pub fn check_url(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::InvalidUrl(format!("Not a valid address: {e}.")))?;
        self.reach.check_url(&parsed)?;
        Ok(parsed)
    }

    /// GETs `url` and returns the body of a 2xx answer; any other status is an error.
    pub async fn get(&self, url: &str, headers: &[ExtraHeader]) -> Result<Body, FetchError> {
        let url = self.check_url(url)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let request = self.client.get(url).headers(header_map(headers)?);
        let started = Instant::now();
        let total = self.limits.total_timeout;
        match tokio::time::timeout(total, self.exchange(request, &host)).await {
            Ok(Ok((status, content_type, bytes))) => {
                Ok(Body { status, content_type, bytes, elapsed: started.elapsed() })
            }
            Ok(Err(err)) => Err(err),
            Err(_) => Err(FetchError::Timeout { phase: Phase::Answer, after: total }),
        }
    }

    /// GETs `url` (asking for JSON) and parses the answer.
    pub async fn get_json(&self, url: &str, headers: &[ExtraHeader]) -> Result<serde_json::Value, FetchError> {
        let mut all = vec![ExtraHeader { name: "accept".into(), value: Secret::new("application/json") }];
        all.extend_from_slice(headers);
        let body = self.get(url, &all).await?;
        parse_json(&body.bytes)
    }

    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        host: &str,
    ) -> Result<(u16, Option<String>, Vec<u8>), FetchError> {
        let mut response = request.send().await.map_err(|e| classify(&e, host, self.limits))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status { code: status.as_u16() });
        }
        let limit = self.limits.max_bytes;
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return Err(FetchError::TooLarge { limit });
        }
        let content_type =
            response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e, host, self.limits))? {
            if bytes.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status.as_u16(), content_type, bytes))
    }
}

/// Parses a body as JSON, with the parser's reason (line and column) for staff.
pub fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, FetchError> {
    serde_json::from_slice(bytes).map_err(|e| FetchError::NotJson(e.to_string()))
}

fn header_map(headers: &[ExtraHeader]) -> Result<HeaderMap, FetchError> {
    let mut map = HeaderMap::new();
    for header in headers {
        let name = HeaderName::from_bytes(header.name.trim().as_bytes())
            .map_err(|_| FetchError::InvalidUrl(format!("\"{}\" is not a valid header name.", header.name)))?;
        let mut value = HeaderValue::from_str(header.value.expose())
            .map_err(|_| FetchError::InvalidUrl(format!("The value of header {name} is not valid.")))?;
        // Keeps the value out of debug output and HTTP/2 header compression tables.
        value.set_sensitive(true);
        map.insert(name, value);
    }
    Ok(map)
}

/// Follows at most `MAX_REDIRECTS`, never to another scheme (https must not become http) and
/// never to an address the guard refuses.
fn redirect_policy(reach: Reach) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        let first_scheme = attempt.previous().first().map(|u| u.scheme().to_owned()).unwrap_or_default();
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(RedirectRefused(format!("more than {MAX_REDIRECTS} redirects")));
        }
        if attempt.url().scheme() != first_scheme {
            let message = format!("from {first_scheme} to {}", attempt.url().scheme());
            return attempt.error(RedirectRefused(message));
        }
        match reach.check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(refused) => {
                let host = attempt.url().host_str().unwrap_or_default().to_owned();
                attempt.error(RedirectRefused(format!("to {host}: {refused}")))
            }
        }
    })
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RedirectRefused(String);

/// Turns a reqwest error into the kind staff can act on, by walking its cause chain.
fn classify(err: &reqwest::Error, host: &str, limits: Limits) -> FetchError {
    let causes = std::iter::successors(Some(err as &(dyn std::error::Error + 'static)), |e| e.source());
    let host = host.to_owned();
    if let Some(refused) = causes.clone().find_map(|e| e.downcast_ref::<RedirectRefused>()) {
        return FetchError::Redirect(refused.0.clone());
    }
    if let Some(blocked) = causes.clone().find_map(|e| e.downcast_ref::<guard::BlockedHost>()) {
        return FetchError::Blocked(blocked.to_string());
    }
    if err.is_timeout() {
        let (phase, after) = if err.is_connect() {
            (Phase::Connect, limits.connect_timeout)
        } else {
            (Phase::Answer, limits.total_timeout)
        };
        return FetchError::Timeout { phase, after };
    }
    let io_kind = causes.clone().find_map(|e| e.downcast_ref::<std::io::Error>()).map(std::io::Error::kind);
    if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        return FetchError::Refused { host };
    }
    let detail = causes.last().map(ToString::to_string).unwrap_or_else(|| "unknown error".into());
    FetchError::Connect { host, detail }
}
