//! Per-client-IP rate limits for the endpoints attackers hammer (login, sign-up, resend,
//! password reset, token guessing), with governor's GCRA buckets in memory, and a per-address
//! limit on unsolicited notices (so nobody can mail-bomb an address through our sign-up form).
//! Per-account limits live in the database (see the accounts app), so they hold across several
//! app processes; these in-memory buckets are per process.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Login,
    Signup,
    /// Resend confirmation and password-reset requests: both send mail.
    SendMail,
    /// Submitting an emailed token (confirm, reset, email change).
    UseToken,
}

pub struct RateLimits {
    enabled: bool,
    login: DefaultKeyedRateLimiter<IpAddr>,
    signup: DefaultKeyedRateLimiter<IpAddr>,
    send_mail: DefaultKeyedRateLimiter<IpAddr>,
    use_token: DefaultKeyedRateLimiter<IpAddr>,
    notices: DefaultKeyedRateLimiter<String>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimits")
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).expect("quota is positive"))
}

fn per_hour(n: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(n).expect("quota is positive"))
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(true)
    }
}

impl RateLimits {
    /// `enabled: false` is for load tests only (the settings refuse it in production).
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            login: RateLimiter::keyed(per_minute(30)),
            signup: RateLimiter::keyed(per_hour(20)),
            send_mail: RateLimiter::keyed(per_hour(20)),
            use_token: RateLimiter::keyed(per_minute(30)),
            notices: RateLimiter::keyed(per_hour(3)),
        }
    }

    /// Counts one attempt; over the limit, says how long to wait.
    pub fn check(&self, action: Action, ip: IpAddr) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        let limiter = match action {
            Action::Login => &self.login,
            Action::Signup => &self.signup,
            Action::SendMail => &self.send_mail,
            Action::UseToken => &self.use_token,
        };
        limiter.check_key(&ip).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Whether another unsolicited notice may go to this address (lower-cased) this hour.
    pub fn allow_notice(&self, address_key: &str) -> bool {
        self.notices.check_key(&address_key.to_owned()).is_ok()
    }

    /// Forgets buckets that are full again, so memory stays bounded.
    pub fn sweep(&self) {
        for limiter in [&self.login, &self.signup, &self.send_mail, &self.use_token] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.notices.retain_recent();
        self.notices.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thirty_first_login_in_a_minute_is_refused_for_that_ip_only() {
        let limits = RateLimits::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..30 {
            assert!(limits.check(Action::Login, a).is_ok());
        }
        let wait = limits.check(Action::Login, a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(2));
        assert!(limits.check(Action::Login, b).is_ok());
        assert!(limits.check(Action::Signup, a).is_ok());
    }

    #[test]
    fn an_address_gets_at_most_three_notices_an_hour() {
        let limits = RateLimits::default();
        let allowed: Vec<bool> = (0..4).map(|_| limits.allow_notice("a@example.com")).collect();
        assert_eq!(allowed, [true, true, true, false]);
        assert!(limits.allow_notice("b@example.com"));
    }
}
