//! Server key material: one 32-byte master key (`MEDIMAIL_MASTER_KEY_FILE`), from which
//! every purpose derives its own key with HMAC-SHA256(master, label), so that a key used
//! for one purpose never serves another.
//!
//! Without the setting, a key is generated on first start in `DATA_DIR/master.key`
//! (mode 0600) for development. In production the file comes from the operator's secret
//! store and is the same on every instance (see the README).

use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;

pub const MASTER_KEY_LEN: usize = 32;

/// Why the master key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the master key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the master key {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the master key {path} holds {len} bytes; it must hold exactly 32 random bytes \
         (for example: head -c 32 /dev/urandom > {path})"
    )]
    Length { path: PathBuf, len: usize },
}

/// The derived keys, one per purpose.
pub struct Keys {
    /// HMAC key for one-time code hashes.
    code_mac: hmac::Key,
    /// HMAC key chaining the audit trail.
    audit_mac: hmac::Key,
    /// HMAC key of the envelopes' search terms (`envelope::at_rest`).
    search_mac: hmac::Key,
    /// AES-256-GCM key sealing mails waiting in the outbox (they may hold a code).
    outbox: LessSafeKey,
    /// AES-256-GCM key wrapping envelope data keys.
    envelope_wrap: LessSafeKey,
    /// The master key itself (every key above derives from it).
    master: [u8; MASTER_KEY_LEN],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    pub fn from_master(master: [u8; MASTER_KEY_LEN]) -> Self {
        let derive = |label: &[u8]| {
            let k = hmac::Key::new(hmac::HMAC_SHA256, &master);
            let tag = hmac::sign(&k, label);
            let mut out = [0u8; 32];
            out.copy_from_slice(tag.as_ref());
            out
        };
        let aes = |label: &[u8]| {
            LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, &derive(label)).expect("32 bytes is an AES-256 key"),
            )
        };
        Self {
            code_mac: hmac::Key::new(hmac::HMAC_SHA256, &derive(b"medimail/one-time-code/v1")),
            audit_mac: hmac::Key::new(hmac::HMAC_SHA256, &derive(b"medimail/audit-chain/v1")),
            search_mac: hmac::Key::new(hmac::HMAC_SHA256, &derive(b"medimail/envelope-search/v1")),
            outbox: aes(b"medimail/outbox/v1"),
            envelope_wrap: aes(b"medimail/envelope-key-wrap/v1"),
            master,
        }
    }

    /// Random keys, for tests.
    pub fn random() -> Self {
        let mut master = [0u8; MASTER_KEY_LEN];
        aws_lc_rs::rand::fill(&mut master).expect("the system random generator works");
        Self::from_master(master)
    }

    /// Loads the configured file, or creates `DATA_DIR/master.key` on first start.
    pub fn load(configured: Option<&Path>, data_dir: &Path) -> Result<Self, KeyError> {
        let path = match configured {
            Some(p) => p.to_path_buf(),
            None => {
                let path = data_dir.join("master.key");
                if !path.exists() {
                    create_key_file(&path)?;
                }
                path
            }
        };
        let bytes = std::fs::read(&path).map_err(|source| KeyError::Read {
            path: path.clone(),
            source,
        })?;
        let master: [u8; MASTER_KEY_LEN] =
            bytes.as_slice().try_into().map_err(|_| KeyError::Length {
                path: path.clone(),
                len: bytes.len(),
            })?;
        Ok(Self::from_master(master))
    }

    /// HMAC-SHA256 of `data` under the one-time code key, hex-encoded.
    pub fn code_mac(&self, data: &[u8]) -> String {
        hex(hmac::sign(&self.code_mac, data).as_ref())
    }

    /// HMAC-SHA256 of `data` under the audit trail key, hex-encoded.
    pub fn audit_mac(&self, data: &[u8]) -> String {
        hex(hmac::sign(&self.audit_mac, data).as_ref())
    }

    /// Constant-time check of a hex tag produced by [`Keys::code_mac`].
    pub fn code_mac_matches(&self, data: &[u8], tag_hex: &str) -> bool {
        match unhex(tag_hex) {
            Some(tag) => hmac::verify(&self.code_mac, data, &tag).is_ok(),
            None => false,
        }
    }

    /// Seals `plain` for the outbox: nonce ‖ ciphertext ‖ tag, bound to `context`.
    pub fn seal_outbox(&self, context: &str, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).expect("the system random generator works");
        let mut out = plain.to_vec();
        self.outbox
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut out,
            )
            .expect("AES-GCM sealing of an in-memory buffer does not fail");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&out);
        sealed
    }

    /// Opens what [`Keys::seal_outbox`] sealed; `None` if it was altered or the key changed.
    pub fn open_outbox(&self, context: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = body.to_vec();
        let plain = self
            .outbox
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }

    /// The keyed, non-reversible tag of one search term (the first 8 bytes of its
    /// HMAC-SHA256, as a signed 64-bit integer for both databases' BIGINT).
    pub fn search_term(&self, term: &str) -> i64 {
        let tag = hmac::sign(&self.search_mac, term.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&tag.as_ref()[..8]);
        i64::from_be_bytes(first)
    }

    /// The master key.
    pub fn master(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.master
    }

    /// The key that wraps envelope data keys (derived, label `medimail/envelope-key-wrap/v1`).
    pub fn envelope_wrap(&self) -> &LessSafeKey {
        &self.envelope_wrap
    }
}

fn create_key_file(path: &Path) -> Result<(), KeyError> {
    use std::io::Write;
    let err = |source| KeyError::Create {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut key = [0u8; MASTER_KEY_LEN];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| err(std::io::Error::other("no randomness")))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(err)?;
    file.write_all(&key).map_err(err)?;
    file.sync_all().map_err(err)?;
    tracing::warn!(
        path = %path.display(),
        "generated a development master key; in production set MEDIMAIL_MASTER_KEY_FILE"
    );
    Ok(())
}

/// Compares two secrets (a `state`, a `nonce`) in constant time.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_sealing_round_trips_and_detects_tampering() {
        let keys = Keys::random();
        let sealed = keys.seal_outbox("id-1", b"[123456] - code");
        assert!(
            !sealed.windows(6).any(|w| w == b"123456"),
            "ciphertext hides the code"
        );
        assert_eq!(
            keys.open_outbox("id-1", &sealed).as_deref(),
            Some(&b"[123456] - code"[..])
        );
        assert_eq!(keys.open_outbox("id-2", &sealed), None, "bound to its row");
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert_eq!(keys.open_outbox("id-1", &altered), None);
        assert_eq!(
            Keys::random().open_outbox("id-1", &sealed),
            None,
            "another key"
        );
    }

    #[test]
    fn code_macs_depend_on_the_key_and_compare_exactly() {
        let keys = Keys::random();
        let tag = keys.code_mac(b"acct:code:012345");
        assert_eq!(tag.len(), 64);
        assert!(keys.code_mac_matches(b"acct:code:012345", &tag));
        assert!(!keys.code_mac_matches(b"acct:code:012346", &tag));
        assert!(!keys.code_mac_matches(b"acct:code:012345", "zz"));
        assert_ne!(Keys::random().code_mac(b"acct:code:012345"), tag);
    }

    #[test]
    fn creates_a_private_key_file_once_and_refuses_a_short_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = Keys::load(None, dir.path()).expect("created");
        let b = Keys::load(None, dir.path()).expect("reloaded");
        assert_eq!(a.master(), b.master());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let short = dir.path().join("short.key");
        std::fs::write(&short, b"too short").expect("write");
        let err = Keys::load(Some(&short), dir.path()).expect_err("refused");
        assert!(err.to_string().contains("exactly 32"), "{err}");
    }
}
