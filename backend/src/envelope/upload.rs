//! Receiving the files of "Envoyer": each attachment is encrypted while it streams in
//! (never held whole in memory) and written to the blob store; the forwarded ones are
//! re-encrypted from their original blob. On any failure the blobs already written are
//! deleted at once.

use axum::extract::Multipart;
use medimail_api::{EnvelopeDraft, limits};

use super::refusal::EnvelopeRefusal;
use super::rules;
use super::stores::Stores;
use crate::crypto::DataKey;
use crate::envelope::entity::attachment;
use crate::error::AppError;
use crate::storage::BlobStore;

/// The `envelope` part: at most this many bytes (the body is at most 1 Mo).
const MAX_DRAFT_BYTES: usize = 2 * 1024 * 1024;

fn upload_broken(detail: impl std::fmt::Display) -> AppError {
    tracing::debug!(%detail, "envelope upload interrupted or malformed");
    EnvelopeRefusal::UploadInterrupted.into()
}

/// The next piece of the upload, if it comes within `idle`.
async fn idle_bounded<T>(
    idle: std::time::Duration,
    next: impl std::future::Future<Output = Result<T, axum::extract::multipart::MultipartError>>,
) -> Result<T, AppError> {
    tokio::time::timeout(idle, next)
        .await
        .map_err(|_| upload_broken("no byte for too long"))?
        .map_err(upload_broken)
}

/// The first part, `envelope`: the draft (JSON), read before any file.
pub async fn read_draft(
    multipart: &mut Multipart,
    idle: std::time::Duration,
) -> Result<EnvelopeDraft, AppError> {
    let Some(field) = idle_bounded(idle, multipart.next_field()).await? else {
        return Err(upload_broken("empty request"));
    };
    if field.name() != Some("envelope") {
        return Err(upload_broken("the first part must be `envelope`"));
    }
    let mut draft_bytes = Vec::new();
    let mut field = field;
    while let Some(chunk) = idle_bounded(idle, field.chunk()).await? {
        draft_bytes.extend_from_slice(&chunk);
        if draft_bytes.len() > MAX_DRAFT_BYTES {
            return Err(EnvelopeRefusal::BodyTooLarge.into());
        }
    }
    // The part must be released before the next one is read (multer holds a lock).
    drop(field);
    serde_json::from_slice(&draft_bytes).map_err(AppError::unreadable)
}

/// A MIME type kept only if it looks like one (`type/subtype`), else a neutral one.
pub fn content_type(given: Option<&str>) -> String {
    given
        .filter(|t| {
            t.len() <= 100
                && t.split_once('/').is_some_and(|(a, b)| {
                    !a.is_empty()
                        && !b.is_empty()
                        && t.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c))
                })
        })
        .unwrap_or("application/octet-stream")
        .to_ascii_lowercase()
}

/// An attachment stored (encrypted) while the request streams in.
pub struct StoredFile {
    pub id: String,
    pub name: rules::FileName,
    pub content_type: String,
    pub size: u64,
}

/// What the receiving side tells the blob task.
pub enum BlobFeed {
    Data(bytes::Bytes),
    /// All bytes sent: finish the blob. A channel closed without it aborts the blob.
    Finish,
}

/// Encrypts what arrives on `rx` and writes it to `writer`; finishes the blob on
/// [`BlobFeed::Finish`], aborts it if the channel closes first or a write fails. A
/// local blob is encrypted and written from a blocking thread with one reused chunk
/// buffer; an object-store blob goes through its multipart upload.
pub async fn encrypt_into_blob(
    writer: crate::storage::BlobWriter,
    encryptor: crate::crypto::StreamEncryptor,
    rx: tokio::sync::mpsc::Receiver<BlobFeed>,
    id: String,
) -> Result<(), crate::storage::BlobError> {
    use crate::storage::BlobWriter;
    match writer {
        BlobWriter::Local(writer) => encrypt_into_file(writer, encryptor, rx).await,
        BlobWriter::Remote(writer) => encrypt_into_upload(writer, encryptor, rx, id).await,
    }
}

/// Waits for the client's bytes here, asynchronously, and takes a blocking thread only
/// for each chunk's encryption and write: a client that dribbles its upload holds no
/// thread of the shared blocking pool (which argon2 and every file need), however many
/// such uploads are open (issue 15, item 1).
async fn encrypt_into_file(
    mut writer: crate::storage::LocalBlobWriter,
    mut encryptor: crate::crypto::StreamEncryptor,
    mut rx: tokio::sync::mpsc::Receiver<BlobFeed>,
) -> Result<(), crate::storage::BlobError> {
    use crate::storage::BlobError;
    let joined = |e: tokio::task::JoinError| BlobError::Io(std::io::Error::other(e));
    // An error returns early: dropping the writer removes its staging file.
    while let Some(feed) = rx.recv().await {
        match feed {
            BlobFeed::Data(chunk) => {
                let (w, e, written) = tokio::task::spawn_blocking(move || {
                    let written = encryptor.push_into(&chunk, &mut writer);
                    (writer, encryptor, written)
                })
                .await
                .map_err(joined)?;
                (writer, encryptor) = (w, e);
                written?;
            }
            BlobFeed::Finish => {
                return tokio::task::spawn_blocking(move || {
                    encryptor.finish_into(&mut writer)?;
                    writer.finish()
                })
                .await
                .map_err(joined)?;
            }
        }
    }
    writer.abort();
    Ok(())
}

async fn encrypt_into_upload(
    mut writer: crate::storage::RemoteBlobWriter,
    mut encryptor: crate::crypto::StreamEncryptor,
    mut rx: tokio::sync::mpsc::Receiver<BlobFeed>,
    id: String,
) -> Result<(), crate::storage::BlobError> {
    let mut finished = false;
    let mut failure = None;
    while let Some(feed) = rx.recv().await {
        match feed {
            BlobFeed::Data(chunk) => {
                for piece in encryptor.push_pieces(&chunk) {
                    if let Err(e) = writer.put(piece).await {
                        failure = Some(e);
                        break;
                    }
                }
                if failure.is_some() {
                    break;
                }
            }
            BlobFeed::Finish => {
                finished = true;
                break;
            }
        }
    }
    if finished && failure.is_none() {
        for piece in encryptor.finish_pieces() {
            writer.put(piece).await?;
        }
        return writer.finish().await;
    }
    if let Err(e) = writer.abort().await {
        tracing::warn!(blob = %id, error = %e, "could not abort a blob upload");
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Receives the files, encrypting and storing each; on error, deletes what it stored
/// (and releases its leases). On success the blobs stay leased: the caller releases them
/// once the envelope is sealed or refused (`lease::release`).
/// `already` files of `already_bytes` bytes (forwarded ones) count towards the limits.
pub async fn receive_files(
    stores: Stores<'_>,
    multipart: &mut Multipart,
    key: &DataKey,
    (already, already_bytes): (usize, u64),
    idle: std::time::Duration,
) -> Result<Vec<StoredFile>, AppError> {
    let blobs = stores.blobs;
    let mut stored: Vec<StoredFile> = Vec::new();
    let mut writing = Vec::new();
    let mut leased = Vec::new();
    let mut result = receive_into(
        stores,
        multipart,
        key,
        Receiving {
            stored: &mut stored,
            writing: &mut writing,
            leased: &mut leased,
            idle,
        },
        already,
        already_bytes,
    )
    .await;
    // Each blob finishes (last chunk, flush to disk) while the next file is received;
    // all must be done before the envelope is sealed.
    for task in writing {
        let written = task
            .await
            .map_err(|e| AppError::Internal(format!("blob task: {e}")))
            .and_then(|r| r.map_err(|e| AppError::Internal(e.to_string())));
        if result.is_ok()
            && let Err(e) = written
        {
            result = Err(e);
        }
    }
    if result.is_err() {
        delete_blobs(blobs, &stored).await;
        if let Err(e) = super::lease::release(stores.db, &leased).await {
            tracing::warn!(error = %e, "could not release the leases of a failed upload; they expire");
        }
    }
    result.map(|()| stored)
}

/// What receiving fills in: the files stored, their blob tasks, the blobs leased.
struct Receiving<'a> {
    stored: &'a mut Vec<StoredFile>,
    writing: &'a mut Vec<BlobTask>,
    leased: &'a mut Vec<String>,
    /// How long the client may stay silent.
    idle: std::time::Duration,
}

type BlobTask = tokio::task::JoinHandle<Result<(), crate::storage::BlobError>>;

/// Starts writing the blob `id` encrypted under `key`: encryption and writes run in
/// their own task, fed through a small bounded channel, so receiving the next bytes
/// overlaps with encrypting and writing the previous ones and memory stays bounded
/// (back-pressure). Closing the channel without [`BlobFeed::Finish`] aborts the blob.
async fn start_blob(
    blobs: &BlobStore,
    key: &DataKey,
    id: &str,
) -> Result<(tokio::sync::mpsc::Sender<BlobFeed>, BlobTask), AppError> {
    let writer = blobs
        .writer(id)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<BlobFeed>(8);
    let task = tokio::spawn(encrypt_into_blob(
        writer,
        key.encryptor(id),
        rx,
        id.to_owned(),
    ));
    Ok((tx, task))
}

/// A file that arrived whole in memory (the SMTP gateway's MIME parts): name as sent,
/// type as given, bytes.
pub struct ReceivedFile {
    pub name: String,
    pub content_type: Option<String>,
    pub bytes: bytes::Bytes,
}

/// Checks `files` against the same rules as an upload (5 files, 25 Mo, names) and
/// stores each encrypted under `key`; on any failure deletes what it stored.
pub async fn store_files(
    blobs: &BlobStore,
    key: &DataKey,
    files: Vec<ReceivedFile>,
) -> Result<Vec<StoredFile>, AppError> {
    let mut stored: Vec<StoredFile> = Vec::new();
    let outcome: Result<(), AppError> = async {
        rules::attachment_count(files.len())?;
        let mut total = 0;
        for file in &files {
            let name = rules::file_name(&file.name)?;
            total += file.bytes.len() as u64;
            rules::attachment_size(&name.display, file.bytes.len() as u64, total)?;
        }
        for file in files {
            let name = rules::file_name(&file.name)?;
            let id = uuid::Uuid::new_v4().to_string();
            let (tx, task) = start_blob(blobs, key, &id).await?;
            let size = file.bytes.len() as u64;
            let _ = tx.send(BlobFeed::Data(file.bytes)).await;
            let _ = tx.send(BlobFeed::Finish).await;
            drop(tx);
            let written = task
                .await
                .map_err(|e| AppError::Internal(format!("blob task: {e}")))?;
            // Recorded before its outcome is known: a half-written blob is deleted too.
            stored.push(StoredFile {
                id,
                name,
                content_type: content_type(file.content_type.as_deref()),
                size,
            });
            written.map_err(|e| AppError::Internal(e.to_string()))?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        delete_blobs(blobs, &stored).await;
        return Err(e);
    }
    Ok(stored)
}

pub async fn delete_blobs(blobs: &BlobStore, files: &[StoredFile]) {
    for file in files {
        if let Err(e) = blobs.delete(&file.id).await {
            tracing::warn!(blob = %file.id, error = %e, "could not delete the blob of a failed send; the sweep will");
        }
    }
}

async fn receive_into(
    stores: Stores<'_>,
    multipart: &mut Multipart,
    key: &DataKey,
    into: Receiving<'_>,
    already: usize,
    already_bytes: u64,
) -> Result<(), AppError> {
    let Receiving {
        stored,
        writing,
        leased,
        idle,
    } = into;
    let mut total: u64 = already_bytes;
    let mut renewed = stores.clock.now();
    while let Some(mut field) = idle_bounded(idle, multipart.next_field()).await? {
        if field.name() != Some("attachment") {
            return Err(upload_broken("unexpected part"));
        }
        rules::attachment_count(already + stored.len() + 1)?;
        let name = rules::file_name(field.file_name().unwrap_or(""))?;
        let content_type = content_type(field.content_type());
        let id = uuid::Uuid::new_v4().to_string();
        // Leased with the others once the upload has lasted `lease::RENEW` (younger
        // blobs are within the sweep's grace): a quick send writes no lease at all.
        leased.push(id.clone());
        let (tx, sealing) = start_blob(stores.blobs, key, &id).await?;
        let mut size: u64 = 0;
        let outcome: Result<(), AppError> = async {
            // A client that stops sending for `idle` has given up (or is holding the
            // server): the send fails, and what it wrote is deleted.
            while let Some(chunk) = idle_bounded(idle, field.chunk()).await? {
                size += chunk.len() as u64;
                total += chunk.len() as u64;
                // Refused as soon as the total passes 25 Mo, not after reading it all.
                if total > limits::MAX_ATTACHMENTS_TOTAL_BYTES {
                    rules::attachment_size(&name.display, size, total)?;
                }
                if tx.send(BlobFeed::Data(chunk)).await.is_err() {
                    break; // The task failed; its error is reported below.
                }
                // A long upload takes, then renews, the leases of all its blobs.
                let now = stores.clock.now();
                if now - renewed >= super::lease::RENEW {
                    super::lease::hold(stores.db, leased, now).await?;
                    renewed = now;
                }
            }
            rules::attachment_size(&name.display, size, total)?;
            Ok(())
        }
        .await;
        if outcome.is_ok() {
            let _ = tx.send(BlobFeed::Finish).await;
        }
        // Without `Finish`, the task aborts the blob. Its outcome is awaited by the caller.
        drop(tx);
        writing.push(sealing);
        outcome?;
        drop(field);
        stored.push(StoredFile {
            id,
            name,
            content_type,
            size,
        });
    }
    Ok(())
}

/// Re-encrypts the forwarded attachments under the new envelope's key, streaming each
/// from its blob (decrypted with the original's key) into a new blob. On failure,
/// deletes the copies already made.
pub async fn copy_forwarded(
    blobs: &BlobStore,
    original_key: &DataKey,
    rows: &[attachment::Model],
    key: &DataKey,
) -> Result<Vec<StoredFile>, AppError> {
    let mut copies = Vec::new();
    for row in rows {
        match copy_one(blobs, original_key, row, key).await {
            Ok(file) => copies.push(file),
            Err(e) => {
                delete_blobs(blobs, &copies).await;
                return Err(e);
            }
        }
    }
    Ok(copies)
}

async fn copy_one(
    blobs: &BlobStore,
    original_key: &DataKey,
    row: &attachment::Model,
    key: &DataKey,
) -> Result<StoredFile, AppError> {
    let internal = |e: &dyn std::fmt::Display| AppError::Internal(format!("forward: {e}"));
    let meta = super::at_rest::attachment_meta(original_key, row)?;
    let source = blobs.read(&row.blob_id).await.map_err(|e| internal(&e))?;
    let mut plain = Box::pin(super::read::decrypted(
        source,
        original_key.decryptor(&row.blob_id),
        row.blob_id.clone(),
    ));
    let id = uuid::Uuid::new_v4().to_string();
    let (tx, sealing) = start_blob(blobs, key, &id).await?;
    let mut size = 0u64;
    let mut failure = None;
    while let Some(chunk) = futures::StreamExt::next(&mut plain).await {
        match chunk {
            Ok(bytes) => {
                size += bytes.len() as u64;
                if tx.send(BlobFeed::Data(bytes)).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                failure = Some(internal(&e));
                break;
            }
        }
    }
    if failure.is_none() && size == row.size.max(0) as u64 {
        let _ = tx.send(BlobFeed::Finish).await;
    } else if failure.is_none() {
        failure = Some(internal(&"size differs from the attachment row"));
    }
    drop(tx);
    let written = sealing.await.map_err(|e| internal(&e))?;
    if let Some(e) = failure {
        return Err(e);
    }
    written.map_err(|e| internal(&e))?;
    Ok(StoredFile {
        id,
        name: rules::FileName {
            display: meta.name,
            safe: meta.safe_name,
        },
        content_type: meta.content_type,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_kept_only_when_plausible() {
        assert_eq!(content_type(Some("application/pdf")), "application/pdf");
        assert_eq!(
            content_type(Some("text/html\r\nX: y")),
            "application/octet-stream"
        );
        assert_eq!(content_type(None), "application/octet-stream");
    }
}
