//! Extractors that parse input at the edge: the client's IP (proxy-aware), JSON bodies that
//! fail as 400/415 JSON errors instead of framework text, and HTML forms that must carry the
//! CSRF token.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::csrf::CsrfToken;
use super::error::AppError;
use crate::kernel::AppState;
use crate::kernel::config::TrustedProxies;

/// The client's address: the socket peer, or, when the peer is a trusted proxy, the rightmost
/// X-Forwarded-For hop that is not one of our proxies. A client-sent X-Forwarded-For is never believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip())
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("server started without connect info")))?;
        Ok(ClientIp(client_ip(peer, parts, &state.settings.trusted_proxies)))
    }
}

fn client_ip(peer: IpAddr, parts: &Parts, trusted: &TrustedProxies) -> IpAddr {
    if !trusted.contains(&peer) {
        if parts.headers.contains_key("x-forwarded-for") {
            warn_untrusted_forwarding(peer);
        }
        return peer;
    }
    let forwarded = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let hops: Vec<IpAddr> = forwarded.flat_map(|v| v.split(',')).filter_map(|h| h.trim().parse().ok()).collect();
    // Walk from the right: the first hop that is not one of our proxies is the client.
    hops.into_iter().rev().find(|ip| !trusted.contains(ip)).unwrap_or(peer)
}

/// A request with `X-Forwarded-For` from a peer not in TRUSTED_PROXIES: either a proxy that is
/// missing from the list (every visitor would then share the proxy's rate limits) or a client
/// forging its address. Logged once per process, not per request.
fn warn_untrusted_forwarding(peer: IpAddr) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(event = "untrusted_forwarding", %peer, "X-Forwarded-For from a peer not in TRUSTED_PROXIES: ignored; if it is your proxy, add it");
    }
}

/// A JSON body. Wrong content type → 415; malformed JSON or wrong types → 400, as JSON errors.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_content_type(&req, "application/json") {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        json_object(&bytes).map(ApiJson)
    }
}

/// A JSON body from the playbook's browser client, whose `fetch` calls may send JSON without a
/// Content-Type (the browser then sends `text/plain`), as Django parsed it regardless. Forms
/// and uploads are still refused (415). Cross-site requests never get this far: the
/// cross-origin layer refuses them whatever their content type.
#[derive(Debug)]
pub struct CompatJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CompatJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let plain = has_content_type(&req, "text/plain") || !req.headers().contains_key(CONTENT_TYPE);
        if !plain && !has_content_type(&req, "application/json") {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        json_object(&bytes).map(CompatJson)
    }
}

/// Every JSON body the API takes is an object. serde also fills a struct from an array, by
/// position (`[""]` would be read as `{"email": ""}`), so any other value is refused first.
fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::BadRequest("The body must be a JSON object.".into()));
    }
    serde_json::from_slice(bytes).map_err(|_| AppError::BadRequest("Malformed JSON body.".into()))
}

/// An HTML form whose `csrf_token` field matches the visitor's `csrftoken` cookie.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

#[derive(serde::Deserialize)]
struct TokenField {
    #[serde(default)]
    csrf_token: String,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_content_type(&req, "application/x-www-form-urlencoded") {
            return Err(AppError::UnsupportedMediaType);
        }
        let expected = req.extensions().get::<CsrfToken>().cloned();
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        let sent: TokenField = serde_urlencoded::from_bytes(&bytes).map_err(|_| AppError::Forbidden)?;
        let matches = expected.is_some_and(|t| t.0.as_bytes().ct_eq(sent.csrf_token.as_bytes()).into());
        if !matches {
            tracing::warn!(event = "csrf_rejected", "form without a valid CSRF token");
            return Err(AppError::Forbidden);
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|_| AppError::BadRequest("The form could not be read.".into()))
    }
}

/// For optional numbers in GET forms: an empty field (`?page=`) means "not given", as browsers
/// send every input of a form. Use with `#[serde(default, deserialize_with = "…")]`.
pub fn empty_as_none<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let raw: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

fn has_content_type(req: &Request, wanted: &str) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(wanted))
}

fn body_error(rejection: axum::extract::rejection::BytesRejection) -> AppError {
    super::error::body_error(&rejection, rejection.status())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(xff: &str) -> Parts {
        let (parts, ()) = axum::http::Request::builder().header("x-forwarded-for", xff).body(()).unwrap().into_parts();
        parts
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(peer, &parts("1.2.3.4"), &TrustedProxies::default()), peer);
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let got = client_ip(proxy, &parts("6.6.6.6, 198.51.100.7"), &TrustedProxies(vec![proxy]));
        assert_eq!(got, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn trusted_proxies_default_to_this_machine_and_can_be_none() {
        let local: TrustedProxies = "127.0.0.1,::1".parse().unwrap();
        assert!(local.contains(&"::1".parse().unwrap()) && !local.contains(&"10.0.0.1".parse().unwrap()));
        assert_eq!("none".parse::<TrustedProxies>().unwrap(), TrustedProxies::default());
        assert!("127.0.0.1,nope".parse::<TrustedProxies>().is_err());
    }
}
