//! Where the outbound client may go (SSRF defence): https to public addresses only, or — when
//! the `OUTBOUND_ALLOW_LOOPBACK` setting is on (development and tests, refused in production) —
//! also http and https to loopback. Checked on the URL (scheme, literal IP hosts) and again on
//! every address DNS returns, in the resolver the client connects through, so a host name that
//! resolves to a private address (or is re-pointed to one later) is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::FetchError;

/// Which addresses outbound requests may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// https to public addresses only (production).
    Public,
    /// Public over https, plus loopback over http or https (development and tests).
    PublicAndLoopback,
}

impl Reach {
    fn allows_ip(self, ip: IpAddr) -> bool {
        is_public(ip) || (self == Reach::PublicAndLoopback && canonical(ip).is_loopback())
    }

    /// Checks a URL before any connection: scheme, credentials, and a host given as an address.
    pub fn check_url(self, url: &Url) -> Result<(), FetchError> {
        let loopback_host = is_loopback_host(url);
        match url.scheme() {
            "https" => {}
            "http" if self == Reach::PublicAndLoopback && loopback_host => {}
            "http" => return Err(FetchError::InvalidUrl("Use an https:// address.".into())),
            _ => return Err(FetchError::InvalidUrl("Use an https:// address.".into())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::InvalidUrl("Put credentials in a header, not in the address.".into()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(FetchError::InvalidUrl("The address has no host.".into()));
        }
        match host_ip(url) {
            Some(ip) if !self.allows_ip(ip) => Err(FetchError::Blocked(format!(
                "{ip} is a private, loopback or reserved address; only public addresses are allowed."
            ))),
            _ => Ok(()),
        }
    }
}

fn is_loopback_host(url: &Url) -> bool {
    host_ip(url).is_some_and(|ip| canonical(ip).is_loopback())
}

/// The host as an address: an IP literal (the URL parser has normalised forms like `0x7f.1`),
/// or `localhost`, which never leaves the machine; `None` for a name DNS must resolve.
fn host_ip(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    if host.eq_ignore_ascii_case("localhost") {
        return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// An IPv4 address written as IPv6 (`::ffff:10.0.0.1`) is judged as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is a globally reachable unicast address (std's `is_global` is not stable yet).
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b))) // benchmarking
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embeds_v4 = |ip: Ipv6Addr| {
        let o = ip.octets();
        Ipv4Addr::new(o[12], o[13], o[14], o[15])
    };
    if s[0] == 0x64 && s[1] == 0xff9b {
        // NAT64 reaches the IPv4 address it embeds.
        return is_public_v4(embeds_v4(ip));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2002) // 6to4, which can embed any IPv4 address
        || s[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible and other reserved low addresses
}

/// A refused address, carried through reqwest's error chain to `FetchError::Blocked`.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to private, loopback or reserved addresses")]
pub struct BlockedHost(pub String);

/// The system resolver, keeping only the addresses `Reach` allows.
pub struct GuardedResolver(pub Reach);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|addr| reach.allows_ip(addr.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(BlockedHost(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(reach: Reach, url: &str) -> Result<(), FetchError> {
        reach.check_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn private_loopback_and_reserved_addresses_are_not_public() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "2002:a00:1::",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert!(is_public(ip.parse().unwrap()), "{ip} counted as private");
        }
    }

    #[test]
    fn only_https_is_allowed_in_production() {
        assert!(check(Reach::Public, "https://statsapi.mlb.com/api/v1/people/1").is_ok());
        assert!(matches!(check(Reach::Public, "http://example.com/"), Err(FetchError::InvalidUrl(_))));
        assert!(matches!(check(Reach::Public, "ftp://example.com/"), Err(FetchError::InvalidUrl(_))));
        assert!(matches!(check(Reach::Public, "http://127.0.0.1:8000/"), Err(FetchError::InvalidUrl(_))));
    }

    #[test]
    fn address_literals_for_private_hosts_are_refused() {
        for url in [
            "https://127.0.0.1/",
            "https://10.0.0.8/",
            "https://[::1]/",
            "https://localhost/",
            "https://169.254.169.254/",
        ] {
            assert!(matches!(check(Reach::Public, url), Err(FetchError::Blocked(_))), "{url}");
        }
    }

    #[test]
    fn loopback_over_http_needs_the_development_setting_and_stays_loopback() {
        assert!(check(Reach::PublicAndLoopback, "http://127.0.0.1:9000/x").is_ok());
        assert!(check(Reach::PublicAndLoopback, "http://localhost:9000/x").is_ok());
        assert!(check(Reach::PublicAndLoopback, "https://[::1]:9000/x").is_ok());
        assert!(matches!(check(Reach::PublicAndLoopback, "http://example.com/"), Err(FetchError::InvalidUrl(_))));
        assert!(matches!(check(Reach::PublicAndLoopback, "https://192.168.0.1/"), Err(FetchError::Blocked(_))));
    }

    #[tokio::test]
    async fn the_resolver_keeps_only_addresses_the_reach_allows() {
        let public = GuardedResolver(Reach::Public).resolve("localhost".parse().unwrap()).await;
        let mut loopback =
            GuardedResolver(Reach::PublicAndLoopback).resolve("localhost".parse().unwrap()).await.unwrap();

        assert!(public.is_err_and(|e| e.to_string().contains("localhost")));
        assert!(loopback.all(|addr| addr.ip().is_loopback()));
    }

    #[test]
    fn credentials_in_the_address_are_refused() {
        assert!(matches!(check(Reach::Public, "https://user:pw@example.com/"), Err(FetchError::InvalidUrl(_))));
    }
}
