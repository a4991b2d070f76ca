//! The personal passphrase: rules for choosing one, and argon2id hashing.
//!
//! Parameters: argon2id, version 0x13, m = 19,456 KiB (19 MiB), t = 2 passes, p = 1 lane,
//! 16-byte random salt, 32-byte output: the first configuration OWASP's Password Storage
//! Cheat Sheet recommends. The PHC string stores them, so raising them later only
//! affects new hashes. Hashing is CPU-bound: async callers go through [`Hashing`], which
//! bounds how many run at once.

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

/// At least this many characters (Unicode scalar values).
pub const MIN_CHARS: usize = 12;
/// At most this many characters, so that hashing cost stays bounded.
pub const MAX_CHARS: usize = 256;
/// At least this many different characters ("aaaaaaaaaaaa" is refused).
pub const MIN_DISTINCT_CHARS: usize = 5;

/// argon2id memory cost in KiB, passes and lanes (see the module documentation).
pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

/// Why a new passphrase is refused. Each has a stable code and a French message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassphraseRule {
    Mismatch,
    TooShort,
    TooLong,
    TooSimple,
    ContainsMailbox,
    Common,
}

impl PassphraseRule {
    pub fn code(self) -> &'static str {
        match self {
            PassphraseRule::Mismatch => "passphrase_mismatch",
            PassphraseRule::TooShort => "passphrase_too_short",
            PassphraseRule::TooLong => "passphrase_too_long",
            PassphraseRule::TooSimple => "passphrase_too_simple",
            PassphraseRule::ContainsMailbox => "passphrase_contains_mailbox",
            PassphraseRule::Common => "passphrase_common",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            PassphraseRule::Mismatch => "Les deux saisies de la passephrase sont différentes.",
            PassphraseRule::TooShort => {
                "La passephrase doit comporter au moins 12 caractères : une courte phrase \
                 facile à retenir convient très bien."
            }
            PassphraseRule::TooLong => "La passephrase ne peut pas dépasser 256 caractères.",
            PassphraseRule::TooSimple => {
                "Cette passephrase est trop simple : utilisez au moins 5 caractères différents."
            }
            PassphraseRule::ContainsMailbox => {
                "La passephrase ne doit pas contenir votre adresse de messagerie."
            }
            PassphraseRule::Common => {
                "Cette passephrase fait partie des mots de passe les plus répandus, que les \
                 attaquants essaient en premier. Choisissez plutôt une courte phrase \
                 personnelle."
            }
        }
    }
}

/// The common-password list shipped with the server (30,000 entries, most frequent
/// first; see the header of `backend/data/common-passwords.txt` for its origin).
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| {
        COMMON_PASSWORDS
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// How many common passwords the server knows.
pub fn common_password_count() -> usize {
    common_passwords().len()
}

/// True when the passphrase is a common password, as typed or once decorations are
/// removed ("Password2026!", "azertyuiop12" and "Soleil soleil" all reduce to one).
pub fn is_common(passphrase: &str) -> bool {
    let set = common_passwords();
    let lower = passphrase.to_lowercase();
    if set.contains(lower.as_str()) {
        return true;
    }
    let letters: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() || set.contains(letters.as_str()) {
        return true;
    }
    // A common word typed twice ("soleilsoleil").
    let n = letters.chars().count();
    if n.is_multiple_of(2) {
        let half: String = letters.chars().take(n / 2).collect();
        if letters == format!("{half}{half}") && set.contains(half.as_str()) {
            return true;
        }
    }
    false
}

/// Checks a passphrase being chosen, typed twice, against the rules (the mailbox is the
/// user's Office 365 address, whose local part must not appear in it).
pub fn check_new(
    passphrase: &str,
    confirmation: &str,
    mailbox: Option<&str>,
) -> Result<(), PassphraseRule> {
    if passphrase != confirmation {
        return Err(PassphraseRule::Mismatch);
    }
    let chars = passphrase.chars().count();
    if chars < MIN_CHARS {
        return Err(PassphraseRule::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PassphraseRule::TooLong);
    }
    let mut distinct: Vec<char> = passphrase.chars().flat_map(char::to_lowercase).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_CHARS {
        return Err(PassphraseRule::TooSimple);
    }
    if let Some(local) = mailbox.and_then(|m| m.split('@').next())
        && local.chars().count() >= 4
        && passphrase.to_lowercase().contains(&local.to_lowercase())
    {
        return Err(PassphraseRule::ContainsMailbox);
    }
    if is_common(passphrase) {
        return Err(PassphraseRule::Common);
    }
    Ok(())
}

/// The parameters new hashes are made with (see the module documentation).
fn params() -> Params {
    Params::new(M_COST_KIB, T_COST, P_COST, Some(32)).unwrap_or_else(|_| Params::default())
}

thread_local! {
    /// argon2's working memory (19 MiB), allocated once per thread and reused: freeing
    /// and allocating it for every hash leaves each freed copy held by the allocator.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// argon2id of `passphrase` with `salt` under `params`, into `out`, in this thread's
/// reused working memory.
fn argon2_into(
    params: &Params,
    passphrase: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let needed = params.block_count();
        if blocks.len() < needed {
            blocks.resize(needed, argon2::Block::default());
        }
        hasher.hash_password_into_with_memory(passphrase, salt, out, &mut blocks[..needed])
    })
}

/// Hashes a passphrase into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
/// CPU-bound (tens of milliseconds): call it through [`Hashing`].
pub fn hash_blocking(passphrase: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{Output, ParamsString};
    let salt = SaltString::generate(&mut OsRng);
    let params = params();
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes)?;
    let output = Output::init_with(32, |out| {
        argon2_into(&params, passphrase.as_bytes(), salt_raw, out)
            .map_err(argon2::password_hash::Error::from)
    })?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string())
}

/// True when `passphrase` matches the stored PHC string (argon2id only; compared in
/// constant time). CPU-bound: call it through [`Hashing`].
pub fn verify_blocking(passphrase: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return false;
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    // Bounded: a stored hash asking for more memory or time than ours is not checked.
    if params.m_cost() > M_COST_KIB || params.t_cost() > T_COST.max(4) || params.p_cost() > 4 {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    if argon2_into(&params, passphrase.as_bytes(), salt_raw, &mut out).is_err() {
        return false;
    }
    argon2::password_hash::Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// The bound on argon2 work: at most `concurrency` hashes at once (about the core
/// count; each takes 19 MiB), and a request that cannot start one within `wait` is
/// answered `busy` (503 with `Retry-After`) instead of queueing without end. The hashes
/// run on `concurrency` threads of their own: the allocator keeps the memory a thread
/// freed for that thread, so a few dedicated threads hold a few times 19 MiB where the
/// runtime's blocking pool (up to 512 threads) would each keep some. One per server,
/// shared by every request that hashes.
#[derive(Clone)]
pub struct Hashing {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    jobs: std::sync::mpsc::SyncSender<Job>,
    concurrency: usize,
    wait: std::time::Duration,
}

type Job = Box<dyn FnOnce() + Send>;

impl std::fmt::Debug for Hashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hashing({} at once)", self.concurrency)
    }
}

/// No argon2 slot freed up in time: the server is busy hashing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

/// Leave to run one argon2 computation; released when dropped.
pub struct HashPermit(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

impl Hashing {
    pub fn new(concurrency: usize, wait: std::time::Duration) -> Self {
        let concurrency = concurrency.max(1);
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(concurrency);
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for n in 0..concurrency {
            let queue = queue.clone();
            // The threads end when the last `Hashing` clone is dropped.
            let _ = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
        }
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency)),
            jobs,
            concurrency,
            wait,
        }
    }

    /// As many at once as the machine has cores; a request waits at most 5 seconds.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores, std::time::Duration::from_secs(5))
    }

    /// Waits (at most the configured time) for leave to hash.
    pub async fn permit(&self) -> Result<HashPermit, Busy> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(HashPermit(permit)),
            _ => Err(Busy),
        }
    }

    /// Runs `work` on a hashing thread, holding `permit` until it is done.
    async fn run<T: Send + 'static>(
        &self,
        permit: HashPermit,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            let _ = done.send(work());
        });
        // Never full: there are as many places in the queue as permits.
        self.jobs.try_send(job).ok()?;
        result.await.ok()
    }

    /// [`hash_blocking`] on a hashing thread, within the bound.
    pub async fn hash(&self, passphrase: String) -> Result<Result<String, String>, Busy> {
        let permit = self.permit().await?;
        Ok(self
            .run(permit, move || {
                hash_blocking(&passphrase).map_err(|e| format!("argon2: {e}"))
            })
            .await
            .unwrap_or_else(|| Err("the hashing thread stopped".into())))
    }

    /// [`verify_blocking`] on a hashing thread, holding a permit already obtained.
    pub async fn verify_holding(
        &self,
        permit: HashPermit,
        passphrase: String,
        phc: String,
    ) -> bool {
        self.run(permit, move || verify_blocking(&passphrase, &phc))
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "Le chat dort sur le radiateur";

    #[test]
    fn accepts_a_sentence_typed_twice() {
        assert_eq!(check_new(GOOD, GOOD, Some("m.pollet@chu.fr")), Ok(()));
    }

    #[test]
    fn refuses_each_broken_rule_with_its_code() {
        assert_eq!(
            check_new(GOOD, "Le chat dort", None),
            Err(PassphraseRule::Mismatch)
        );
        assert_eq!(
            check_new("court", "court", None),
            Err(PassphraseRule::TooShort)
        );
        // 11 characters, multi-byte ones counted as one each.
        assert_eq!(
            check_new("éééééabcdef", "éééééabcdef", None),
            Err(PassphraseRule::TooShort)
        );
        let long = "abcdefghij".repeat(26);
        assert_eq!(check_new(&long, &long, None), Err(PassphraseRule::TooLong));
        assert_eq!(
            check_new("aaaaAAAAbbbb", "aaaaAAAAbbbb", None),
            Err(PassphraseRule::TooSimple)
        );
        assert_eq!(
            check_new(
                "Bonjour POLLET 2026",
                "Bonjour POLLET 2026",
                Some("pollet@chu.fr")
            ),
            Err(PassphraseRule::ContainsMailbox)
        );
        for rule in [
            PassphraseRule::Mismatch,
            PassphraseRule::TooShort,
            PassphraseRule::TooLong,
            PassphraseRule::TooSimple,
            PassphraseRule::ContainsMailbox,
            PassphraseRule::Common,
        ] {
            assert!(rule.code().starts_with("passphrase_"));
            assert!(rule.message().ends_with('.'));
        }
    }

    #[test]
    fn ships_at_least_ten_thousand_common_passwords_and_refuses_them() {
        assert!(
            common_password_count() >= 10_000,
            "{}",
            common_password_count()
        );
        for common in [
            "password1234",
            "Password2026!",
            "azertyuiop12",
            "1qaz2wsx3edc",
            "Soleil soleil",
            "123456789012",
            "qwertyuiop!!",
        ] {
            assert_eq!(
                check_new(common, common, None),
                Err(PassphraseRule::Common),
                "{common}"
            );
        }
        assert!(!is_common(GOOD));
    }

    #[test]
    fn hashes_with_argon2id_and_the_documented_parameters() {
        let phc = hash_blocking(GOOD).expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking(GOOD, &phc));
        assert!(!verify_blocking("Le chat dort sur le radiateur!", &phc));
        assert!(!verify_blocking(GOOD, "not a phc string"));
        // A fresh salt each time.
        assert_ne!(phc, hash_blocking(GOOD).expect("hash"));
    }
}
