//! Password hashing with argon2id at (at least) the OWASP parameters. Hashing is CPU-heavy, so
//! it runs on the blocking pool behind a semaphore: a login flood queues here instead of taking
//! every core from the rest of the app. A dummy hash gives unknown users the same cost.

use std::fmt;
use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::{OnceCell, Semaphore};

const DUMMY_PASSWORD: &str = "dummy password for unknown users";

/// A password as typed: never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Wrong password, unknown user or unreadable hash: the caller cannot tell which.
    Mismatch,
    Match,
    /// Right password, stored with weaker parameters than today's: store a fresh hash.
    MatchNeedsRehash,
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// Made on first use, not at boot: one argon2 run would be most of the start-up time.
    dummy_hash: Arc<OnceCell<String>>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHasher(m={}, t={})", self.params.m_cost(), self.params.t_cost())
    }
}

impl PasswordHasher {
    pub fn new(memory_kib: u32, iterations: u32, concurrency: usize) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
        Ok(Self { params, permits: Arc::new(Semaphore::new(concurrency.max(1))), dummy_hash: Arc::default() })
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let params = self.params.clone();
        let password = password.clone();
        self.run(move || {
            argon(&params)
                .hash_password(password.expose().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))
        })
        .await?
    }

    /// Checks `password` against `stored`, or against a dummy hash when there is no user,
    /// so both cases cost one argon2 run.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> anyhow::Result<Verdict> {
        let known = stored.is_some();
        let stored = match stored {
            Some(hash) => hash.to_owned(),
            None => {
                let make = || async { self.hash(&Password::new(DUMMY_PASSWORD)).await };
                self.dummy_hash.get_or_try_init(make).await?.clone()
            }
        };
        let params = self.params.clone();
        let password = password.clone();
        self.run(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Verdict::Mismatch;
            };
            let Ok(stored_params) = Params::try_from(&parsed) else {
                return Verdict::Mismatch;
            };
            let ok = argon(&stored_params).verify_password(password.expose().as_bytes(), &parsed).is_ok();
            match (ok && known, weaker(&stored_params, &params)) {
                (false, _) => Verdict::Mismatch,
                (true, true) => Verdict::MatchNeedsRehash,
                (true, false) => Verdict::Match,
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        Ok(tokio::task::spawn_blocking(work).await?)
    }
}

fn argon(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn weaker(stored: &Params, wanted: &Params) -> bool {
    stored.m_cost() < wanted.m_cost() || stored.t_cost() < wanted.t_cost()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password() {
        let hasher = PasswordHasher::new(19456, 2, 2).unwrap();
        let hash = hasher.hash(&Password::new("correct horse battery staple")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let right = hasher.verify(&Password::new("correct horse battery staple"), Some(&hash)).await.unwrap();
        let wrong = hasher.verify(&Password::new("correct horse battery stapl"), Some(&hash)).await.unwrap();
        assert_eq!((right, wrong), (Verdict::Match, Verdict::Mismatch));
    }

    #[tokio::test]
    async fn unknown_users_never_match_even_the_dummy_password() {
        let hasher = PasswordHasher::new(19456, 2, 1).unwrap();
        let verdict = hasher.verify(&Password::new(DUMMY_PASSWORD), None).await.unwrap();
        assert_eq!(verdict, Verdict::Mismatch);
    }

    #[tokio::test]
    async fn raising_the_parameters_asks_for_a_rehash() {
        let old = PasswordHasher::new(19456, 2, 1).unwrap();
        let hash = old.hash(&Password::new("a long enough password")).await.unwrap();
        let new = PasswordHasher::new(19456, 3, 1).unwrap();
        let verdict = new.verify(&Password::new("a long enough password"), Some(&hash)).await.unwrap();
        assert_eq!(verdict, Verdict::MatchNeedsRehash);
    }

    #[test]
    fn passwords_never_print() {
        assert_eq!(format!("{:?}", Password::new("hunter2hunter2")), "Password(***)");
    }
}
