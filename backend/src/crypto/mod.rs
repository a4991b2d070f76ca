//! Encryption at rest of envelopes (docs/ARCHITECTURE.md, "Request flow").
//!
//! Each envelope has its own random 256-bit data key. The body is sealed with
//! AES-256-GCM in one piece; each attachment is encrypted as a stream of 64 KiB chunks
//! with the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015): chunk `i` is
//! sealed with AES-256-GCM under the nonce `prefix(7 bytes) ‖ i (4 bytes, big-endian) ‖
//! last (1 byte)`, so that it can be decrypted while it streams out, and reordering,
//! dropping, truncating or appending chunks is detected. The data key is wrapped
//! (AES-256-GCM) by a key derived from the master key; only the wrapped form is stored.
//!
//! Blob layout: `MMB1` ‖ nonce prefix (7) ‖ chunks, each `ciphertext ‖ tag(16)`; every
//! chunk holds exactly [`CHUNK`] plaintext bytes except the last, which holds 1 to
//! [`CHUNK`] (0 only for an empty stream). The blob id is the additional data of every
//! chunk, so a chunk cannot be moved from one blob to another.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::keys::Keys;

/// Plaintext bytes per chunk.
pub const CHUNK: usize = 64 * 1024;
/// AES-GCM tag length.
pub const TAG: usize = 16;
const MAGIC: &[u8; 4] = b"MMB1";
const PREFIX: usize = 7;
/// Bytes before the first chunk.
pub const HEADER: usize = MAGIC.len() + PREFIX;

/// What an envelope records as its "Moteur de cryptage".
pub const ENGINE: &str = "AES-256-GCM (flux STREAM, blocs de 64 Kio) ; clé d'enveloppe de \
                          256 bits protégée par AES-256-GCM";

/// Decryption failed: wrong key, altered or truncated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the encrypted data is altered, truncated or under another key")]
pub struct Tampered;

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).expect("the system random generator works");
    out
}

fn aes_key(bytes: &[u8; 32]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes is an AES-256 key"))
}

/// Seals `plain` with a random nonce: `nonce ‖ ciphertext ‖ tag`.
fn seal(key: &LessSafeKey, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let nonce = random::<NONCE_LEN>();
    let mut buf = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buf,
    )
    .expect("AES-GCM sealing of an in-memory buffer does not fail");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    out
}

fn open(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Tampered> {
    if sealed.len() < NONCE_LEN + TAG {
        return Err(Tampered);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Tampered)?;
    let mut buf = body.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| Tampered)?;
    Ok(plain.to_vec())
}

/// An envelope's data key.
pub struct DataKey {
    bytes: [u8; 32],
}

impl DataKey {
    pub fn generate() -> Self {
        Self { bytes: random() }
    }

    /// The key wrapped for storage, bound to the envelope it belongs to.
    pub fn wrap(&self, keys: &Keys, envelope: &str) -> Vec<u8> {
        seal(keys.envelope_wrap(), envelope.as_bytes(), &self.bytes)
    }

    /// Unwraps what [`DataKey::wrap`] produced for the same envelope.
    pub fn unwrap(keys: &Keys, envelope: &str, wrapped: &[u8]) -> Result<Self, Tampered> {
        let plain = open(keys.envelope_wrap(), envelope.as_bytes(), wrapped)?;
        let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| Tampered)?;
        Ok(Self { bytes })
    }

    /// Seals a small item (the body) in one piece; `context` binds it to its place.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Vec<u8> {
        seal(&aes_key(&self.bytes), context.as_bytes(), plain)
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, Tampered> {
        open(&aes_key(&self.bytes), context.as_bytes(), sealed)
    }

    /// Starts encrypting the blob `blob_id`.
    pub fn encryptor(&self, blob_id: &str) -> StreamEncryptor {
        StreamEncryptor {
            key: aes_key(&self.bytes),
            aad: blob_id.as_bytes().to_vec(),
            prefix: random(),
            counter: 0,
            pending: Vec::with_capacity(CHUNK + TAG),
            header_sent: false,
        }
    }

    /// Starts decrypting the blob `blob_id`.
    pub fn decryptor(&self, blob_id: &str) -> StreamDecryptor {
        StreamDecryptor {
            key: aes_key(&self.bytes),
            aad: blob_id.as_bytes().to_vec(),
            prefix: None,
            counter: 0,
            buffer: Vec::with_capacity(CHUNK + TAG),
            finished: false,
        }
    }
}

fn chunk_nonce(prefix: &[u8; PREFIX], counter: u32, last: bool) -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    n[..PREFIX].copy_from_slice(prefix);
    n[PREFIX..PREFIX + 4].copy_from_slice(&counter.to_be_bytes());
    n[NONCE_LEN - 1] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// Encrypts a stream: feed it with [`push`](Self::push), end with
/// [`finish`](Self::finish); concatenating every output gives the blob. At most one
/// chunk is held in memory.
pub struct StreamEncryptor {
    key: LessSafeKey,
    aad: Vec<u8>,
    prefix: [u8; PREFIX],
    counter: u32,
    pending: Vec<u8>,
    header_sent: bool,
}

impl StreamEncryptor {
    fn header(&mut self, out: &mut Vec<Vec<u8>>) {
        if !self.header_sent {
            let mut header = Vec::with_capacity(HEADER);
            header.extend_from_slice(MAGIC);
            header.extend_from_slice(&self.prefix);
            out.push(header);
            self.header_sent = true;
        }
    }

    /// Seals the pending chunk in place (its buffer has room for the tag from the start,
    /// so appending it never reallocates).
    fn seal_pending(&mut self, last: bool) {
        self.key
            .seal_in_place_append_tag(
                chunk_nonce(&self.prefix, self.counter, last),
                Aad::from(self.aad.as_slice()),
                &mut self.pending,
            )
            .expect("AES-GCM sealing of an in-memory buffer does not fail");
        self.counter = self.counter.wrapping_add(1);
    }

    /// Seals the pending chunk and hands its buffer over (no copy).
    fn seal_chunk(&mut self, last: bool, out: &mut Vec<Vec<u8>>) {
        self.seal_pending(last);
        out.push(std::mem::replace(
            &mut self.pending,
            Vec::with_capacity(CHUNK + TAG),
        ));
    }

    /// Takes more plaintext and writes the ciphertext ready so far to `out`, reusing one
    /// chunk buffer (no allocation per chunk): the fastest path, for blocking writers.
    pub fn push_into<W: std::io::Write>(
        &mut self,
        mut data: &[u8],
        out: &mut W,
    ) -> std::io::Result<()> {
        if !self.header_sent {
            out.write_all(MAGIC)?;
            out.write_all(&self.prefix)?;
            self.header_sent = true;
        }
        while !data.is_empty() {
            if self.pending.len() == CHUNK {
                self.seal_pending(false);
                out.write_all(&self.pending)?;
                self.pending.clear();
            }
            let take = (CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Seals the last chunk and writes the end of the blob to `out`.
    pub fn finish_into<W: std::io::Write>(mut self, out: &mut W) -> std::io::Result<()> {
        self.push_into(&[], out)?;
        self.seal_pending(true);
        out.write_all(&self.pending)
    }

    /// Takes more plaintext; returns the pieces of ciphertext ready so far (possibly
    /// none), each an owned buffer that can be handed on without copying. A full chunk is
    /// sealed only once more data shows it is not the last one.
    pub fn push_pieces(&mut self, mut data: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.header(&mut out);
        while !data.is_empty() {
            if self.pending.len() == CHUNK {
                self.seal_chunk(false, &mut out);
            }
            let take = (CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        out
    }

    /// Seals the last chunk; returns the end of the blob, in pieces.
    pub fn finish_pieces(mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.header(&mut out);
        self.seal_chunk(true, &mut out);
        out
    }

    /// [`push_pieces`](Self::push_pieces), concatenated.
    pub fn push(&mut self, data: &[u8]) -> Vec<u8> {
        self.push_pieces(data).concat()
    }

    /// [`finish_pieces`](Self::finish_pieces), concatenated.
    pub fn finish(self) -> Vec<u8> {
        self.finish_pieces().concat()
    }
}

/// Decrypts a stream produced by [`StreamEncryptor`]: feed ciphertext with
/// [`push`](Self::push) (plaintext comes out chunk by chunk), then call
/// [`finish`](Self::finish), which fails if the blob was truncated.
pub struct StreamDecryptor {
    key: LessSafeKey,
    aad: Vec<u8>,
    prefix: Option<[u8; PREFIX]>,
    counter: u32,
    buffer: Vec<u8>,
    finished: bool,
}

impl StreamDecryptor {
    /// Opens the chunk of `len` bytes at `start` of the buffer in place and appends its
    /// plaintext to `out`.
    fn open_at(
        &mut self,
        start: usize,
        len: usize,
        last: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Tampered> {
        let prefix = self.prefix.ok_or(Tampered)?;
        let plain = self
            .key
            .open_in_place(
                chunk_nonce(&prefix, self.counter, last),
                Aad::from(self.aad.as_slice()),
                &mut self.buffer[start..start + len],
            )
            .map_err(|_| Tampered)?;
        out.extend_from_slice(plain);
        self.counter = self.counter.wrapping_add(1);
        Ok(())
    }

    /// Takes more ciphertext; returns the plaintext of every chunk known not to be last.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>, Tampered> {
        if self.finished {
            return Err(Tampered);
        }
        self.buffer.extend_from_slice(data);
        if self.prefix.is_none() {
            if self.buffer.len() < HEADER {
                return Ok(Vec::new());
            }
            if &self.buffer[..MAGIC.len()] != MAGIC {
                return Err(Tampered);
            }
            let mut prefix = [0u8; PREFIX];
            prefix.copy_from_slice(&self.buffer[MAGIC.len()..HEADER]);
            self.prefix = Some(prefix);
            self.buffer.drain(..HEADER);
        }
        // A full chunk followed by at least one more byte is not the last one. Chunks are
        // opened where they lie; the buffer is shifted once at the end.
        let full = CHUNK + TAG;
        let ready = if self.buffer.len() > full {
            (self.buffer.len() - 1) / full
        } else {
            0
        };
        let mut out = Vec::with_capacity(ready * CHUNK);
        for i in 0..ready {
            self.open_at(i * full, full, false, &mut out)?;
        }
        if ready > 0 {
            self.buffer.drain(..ready * full);
        }
        Ok(out)
    }

    /// Opens the last chunk; fails if the stream ended early or was extended.
    pub fn finish(mut self) -> Result<Vec<u8>, Tampered> {
        self.finished = true;
        if self.prefix.is_none() || self.buffer.len() < TAG {
            return Err(Tampered);
        }
        let len = self.buffer.len();
        let mut out = Vec::with_capacity(len);
        self.open_at(0, len, true, &mut out)?;
        Ok(out)
    }
}

/// Size of the blob that [`StreamEncryptor`] makes of `plain_len` bytes.
pub fn encrypted_len(plain_len: u64) -> u64 {
    // Every chunk is full except the last, which may be full too; at least one chunk.
    let chunks = plain_len.div_ceil(CHUNK as u64).max(1);
    HEADER as u64 + plain_len + chunks * TAG as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encrypt(key: &DataKey, id: &str, plain: &[u8], piece: usize) -> Vec<u8> {
        let mut enc = key.encryptor(id);
        let mut out = Vec::new();
        for part in plain.chunks(piece.max(1)) {
            out.extend(enc.push(part));
        }
        out.extend(enc.finish());
        out
    }

    fn decrypt(key: &DataKey, id: &str, blob: &[u8], piece: usize) -> Result<Vec<u8>, Tampered> {
        let mut dec = key.decryptor(id);
        let mut out = Vec::new();
        for part in blob.chunks(piece.max(1)) {
            out.extend(dec.push(part)?);
        }
        out.extend(dec.finish()?);
        Ok(out)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn round_trips_at_every_chunk_boundary_whatever_the_piece_sizes() {
        let key = DataKey::generate();
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17] {
            let plain = sample(len);
            for (enc_piece, dec_piece) in [(1000, 7777), (CHUNK, CHUNK + TAG), (100_000, 3)] {
                if len > 200_000 && dec_piece == 3 {
                    continue;
                }
                let blob = encrypt(&key, "blob-1", &plain, enc_piece);
                assert_eq!(blob.len() as u64, encrypted_len(len as u64), "len {len}");
                assert_eq!(
                    decrypt(&key, "blob-1", &blob, dec_piece).expect("opens"),
                    plain
                );
            }
        }
    }

    #[test]
    fn writing_into_a_sink_gives_the_same_blob_format() {
        let key = DataKey::generate();
        for len in [0, 5, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let plain = sample(len);
            let mut enc = key.encryptor("blob-w");
            let mut blob = Vec::new();
            for part in plain.chunks(50_000) {
                enc.push_into(part, &mut blob).expect("write");
            }
            enc.finish_into(&mut blob).expect("write");
            assert_eq!(blob.len() as u64, encrypted_len(len as u64), "len {len}");
            assert_eq!(decrypt(&key, "blob-w", &blob, 7777).expect("opens"), plain);
        }
    }

    #[test]
    fn the_blob_is_not_the_file() {
        let key = DataKey::generate();
        let plain = b"Compte rendu de M. BLANC: tout va bien".repeat(100);
        let blob = encrypt(&key, "b", &plain, 4096);
        assert!(!blob.windows(20).any(|w| plain.windows(20).any(|p| p == w)));
    }

    #[test]
    fn detects_truncation_extension_reordering_and_tampering() {
        let key = DataKey::generate();
        let plain = sample(3 * CHUNK + 100);
        let blob = encrypt(&key, "b", &plain, 8192);
        let chunk = CHUNK + TAG;
        // Dropping the last chunk: the previous one is not marked last.
        let truncated = &blob[..HEADER + 3 * chunk];
        assert_eq!(decrypt(&key, "b", truncated, 9999), Err(Tampered));
        // Cutting inside a chunk.
        assert_eq!(
            decrypt(&key, "b", &blob[..blob.len() - 5], 9999),
            Err(Tampered)
        );
        // Appending bytes.
        let mut longer = blob.clone();
        longer.extend_from_slice(&[0; 40]);
        assert_eq!(decrypt(&key, "b", &longer, 9999), Err(Tampered));
        // Swapping two chunks.
        let mut swapped = blob.clone();
        let (a, b) = (HEADER, HEADER + chunk);
        let first: Vec<u8> = swapped[a..a + chunk].to_vec();
        let second: Vec<u8> = swapped[b..b + chunk].to_vec();
        swapped[a..a + chunk].copy_from_slice(&second);
        swapped[b..b + chunk].copy_from_slice(&first);
        assert_eq!(decrypt(&key, "b", &swapped, 9999), Err(Tampered));
        // One flipped bit, another blob id, another key.
        let mut flipped = blob.clone();
        flipped[HEADER + 10] ^= 1;
        assert_eq!(decrypt(&key, "b", &flipped, 9999), Err(Tampered));
        assert_eq!(decrypt(&key, "other", &blob, 9999), Err(Tampered));
        assert_eq!(
            decrypt(&DataKey::generate(), "b", &blob, 9999),
            Err(Tampered)
        );
        assert_eq!(decrypt(&key, "b", &[], 10), Err(Tampered));
    }

    #[test]
    fn data_keys_are_wrapped_for_their_envelope_only() {
        let keys = Keys::random();
        let key = DataKey::generate();
        let wrapped = key.wrap(&keys, "env-1");
        assert!(!wrapped.windows(32).any(|w| w == key.bytes));
        let back = DataKey::unwrap(&keys, "env-1", &wrapped).expect("unwraps");
        assert_eq!(back.bytes, key.bytes);
        assert!(DataKey::unwrap(&keys, "env-2", &wrapped).is_err());
        assert!(DataKey::unwrap(&Keys::random(), "env-1", &wrapped).is_err());
        let body = key.seal("env-1/body", b"<p>Bonjour</p>");
        assert_eq!(
            back.open("env-1/body", &body).expect("opens"),
            b"<p>Bonjour</p>"
        );
        assert!(back.open("env-2/body", &body).is_err());
    }
}
