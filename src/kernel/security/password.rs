//! Password hashing with argon2id at (at least) the OWASP parameters. Hashing is CPU- and
//! memory-heavy (19 MiB a run), so it runs on a fixed set of threads of its own: a login flood
//! queues here instead of taking every core from the rest of the app, and memory stays at one
//! hash's worth per thread (the blocking pool's many threads would each keep a 19 MiB arena).
//! A dummy hash gives unknown users the same cost.

use std::fmt;
use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::{OnceCell, oneshot};

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

type Job = Box<dyn FnOnce() + Send>;

/// The nice value of the hashing threads: the lowest. When the machine is busy the scheduler
/// gives them a small share against request-serving threads, so a login flood slows logins
/// down instead of every other request (BENCHMARKS.md: S2's p99 during a flood went from
/// 2.45× to 1.5× its quiet value); on an idle machine they still run flat out.
const HASHING_NICE: i32 = 19;

/// Lowers the calling thread's scheduling priority (Linux sets nice values per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(err) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), HASHING_NICE) {
        tracing::warn!(%err, "could not lower the password hashing thread's priority");
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// Feeds the hashing threads; they end when the last clone of this is dropped.
    jobs: std::sync::mpsc::Sender<Job>,
    /// Made on first use, not at boot: one argon2 run would be most of the start-up time.
    dummy_hash: Arc<OnceCell<String>>,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHasher(m={}, t={})", self.params.m_cost(), self.params.t_cost())
    }
}

impl PasswordHasher {
    /// `threads` hashes run at once; the rest wait their turn.
    pub fn new(memory_kib: u32, iterations: u32, threads: usize) -> anyhow::Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new().name(format!("password-hash-{n}")).spawn(move || {
                lower_priority();
                loop {
                    // The lock is held only to take one job, never while hashing.
                    let next = queue.lock().map(|q| q.recv());
                    match next {
                        Ok(Ok(job)) => job(),
                        _ => return,
                    }
                }
            })?;
        }
        Ok(Self { params, jobs, dummy_hash: Arc::default() })
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
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(work());
        });
        self.jobs.send(job).map_err(|_| anyhow::anyhow!("the hashing threads are gone"))?;
        Ok(answer.await?)
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

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_the_lowest_priority() {
        let hasher = PasswordHasher::new(19456, 2, 2).unwrap();
        let ask = || hasher.run(|| rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap());
        let (first, second) = tokio::join!(ask(), ask());
        assert_eq!((first.unwrap(), second.unwrap()), (HASHING_NICE, HASHING_NICE));
        assert_eq!(
            rustix::process::getpriority_process(None).unwrap(),
            0,
            "the rest of the process keeps its priority"
        );
    }

    #[test]
    fn passwords_never_print() {
        assert_eq!(format!("{:?}", Password::new("hunter2hunter2")), "Password(***)");
    }
}
