//! Password hashing with argon2id at (at least) the OWASP parameters. Hashing is CPU- and
//! memory-heavy (19 MiB a run), so it runs on a fixed set of threads of its own: a login flood
//! queues here instead of taking every core from the rest of the app, and memory is one hash's
//! worth per thread while hashing, handed back to the system after each hash.
//! A dummy hash gives unknown users the same cost.

use std::fmt;
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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
        self.run(move || hash_with(&params, password.expose().as_bytes())).await?
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
            let Some(stored_params) = matches(&stored, password.expose().as_bytes()) else {
                return Verdict::Mismatch;
            };
            match (known, weaker(&stored_params, &params)) {
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

/// glibc's largest dynamic mmap threshold. A freed mapping smaller than this raises the
/// threshold to its size, after which blocks that size come from the thread's arena and stay
/// resident: argon2's 19 MiB stayed in the process from the second login on (BENCHMARKS.md).
const GLIBC_MMAP_THRESHOLD_MAX: usize = 32 * 1024 * 1024;

/// argon2's working memory for `params`. Its capacity is above that threshold, so it is always
/// a fresh mapping, handed back to the system when the hash ends; only the blocks argon2 uses
/// are written, so the rest of the capacity never becomes resident.
fn working_memory(params: &Params) -> Vec<Block> {
    let blocks = params.block_count();
    let mut memory = Vec::with_capacity(blocks.max(GLIBC_MMAP_THRESHOLD_MAX / Block::SIZE + 1));
    memory.resize(blocks, Block::default());
    memory
}

fn compute(params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), argon2::Error> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()).hash_password_into_with_memory(
        password,
        salt,
        out,
        working_memory(params),
    )
}

/// A PHC string (`$argon2id$v=19$m=…,t=…,p=1$salt$hash`) for `password` with a fresh salt.
fn hash_with(params: &Params, password: &[u8]) -> anyhow::Result<String> {
    let salt = argon2::password_hash::generate_salt();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let failed = |e: &dyn fmt::Display| anyhow::anyhow!("argon2: {e}");
    compute(params, password, &salt, &mut out).map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// The parameters `stored` was made with, if `password` is the one it hashes. Anything but an
/// argon2id v19 PHC string with a salt and a hash never matches; the comparison of the hashes
/// takes constant time (`Output`'s equality).
fn matches(stored: &str, password: &[u8]) -> Option<Params> {
    let parsed = PasswordHash::new(stored).ok()?;
    let expected_version: u32 = Version::V0x13.into();
    if parsed.algorithm != Algorithm::Argon2id.ident() || parsed.version != Some(expected_version) {
        return None;
    }
    let params = Params::try_from(&parsed).ok()?;
    let (salt, expected) = (parsed.salt?, parsed.hash?);
    let mut out = vec![0u8; expected.len()];
    compute(&params, password, &salt, &mut out).ok()?;
    (Output::new(&out).ok()? == expected).then_some(params)
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

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let params = Params::new(19456, 2, 1, None).unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let ours = hash_with(&params, b"correct horse battery staple").unwrap();
        let theirs = reference.hash_password(b"correct horse battery staple").unwrap().to_string();

        assert!(reference.verify_password(b"correct horse battery staple", ours.as_str()).is_ok());
        assert!(reference.verify_password(b"correct horse battery stapl", ours.as_str()).is_err());
        assert!(matches(&theirs, b"correct horse battery staple").is_some());
        assert!(matches(&theirs, b"correct horse battery stapl").is_none());
        let argon2i = theirs.replacen("$argon2id$", "$argon2i$", 1);
        assert!(matches(&argon2i, b"correct horse battery staple").is_none(), "only argon2id is accepted");
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
