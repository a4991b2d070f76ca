//! "Envoyer": `POST /api/envelopes`, multipart — first the part `envelope` (JSON
//! [`EnvelopeDraft`]), then up to 5 parts `attachment` (files). Everything is checked
//! before anything is kept; attachments are encrypted while they stream in (never held
//! whole in memory) and written to the blob store; then one transaction seals the
//! envelope: envelope, recipients, attachment rows, the "Scellement" event and one
//! notification per recipient in the outbox. On any failure the blobs already written
//! are deleted at once and nothing else was written.

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Utc};
use medimail_api::{EnvelopeDraft, EnvelopeSealed, ErrorBody, ForwardedFiles, limits, paths};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::auth::session::SignedIn;
use crate::client::ClientAddress;
use crate::crypto::DataKey;
use crate::entity::{attachment, envelope, envelope_event, envelope_recipient};
use crate::envelope::rules::{self, RuleError};
use crate::error::AppError;
use crate::state::AppState;

/// The `envelope` part: at most this many bytes (the body is at most 1 Mo).
const MAX_DRAFT_BYTES: usize = 2 * 1024 * 1024;
/// The whole request: 25 Mo of files plus the draft and multipart framing.
pub const MAX_REQUEST_BYTES: usize = limits::MAX_ATTACHMENTS_TOTAL_BYTES as usize + 4 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ENVELOPES, post(send))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

impl From<RuleError> for AppError {
    fn from(e: RuleError) -> Self {
        let status = match e.code {
            "attachments_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        AppError::Rejected(status, ErrorBody::new(e.code, e.message).on_field(e.field))
    }
}

fn upload_broken(detail: impl std::fmt::Display) -> AppError {
    tracing::debug!(%detail, "envelope upload interrupted or malformed");
    AppError::rejected(
        StatusCode::BAD_REQUEST,
        "upload_interrupted",
        "L'envoi a été interrompu avant la fin : rien n'a été envoyé. Vérifiez votre \
         connexion et cliquez de nouveau sur « Envoyer ».",
    )
}

/// An unguessable envelope reference: 192 random bits, base64url (32 characters).
pub fn new_reference() -> String {
    let mut bytes = [0u8; 24];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A MIME type kept only if it looks like one (`type/subtype`), else a neutral one.
fn content_type(given: Option<&str>) -> String {
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

fn parse_time(value: Option<&str>, field: &'static str) -> Result<Option<DateTime<Utc>>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.to_utc()))
            .map_err(|_| {
                AppError::on_field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    field,
                    "opening_window_invalid",
                    "Les dates des conditions d'ouverture sont illisibles.",
                )
            }),
    }
}

/// An attachment stored (encrypted) while the request streams in.
struct StoredFile {
    id: String,
    name: rules::FileName,
    content_type: String,
    size: u64,
}

/// What the receiving side tells the blob task.
pub(crate) enum BlobFeed {
    Data(bytes::Bytes),
    /// All bytes sent: finish the blob. A channel closed without it aborts the blob.
    Finish,
}

/// Encrypts what arrives on `rx` and writes it to `writer`; finishes the blob on
/// [`BlobFeed::Finish`], aborts it if the channel closes first or a write fails. A
/// local blob is encrypted and written from a blocking thread with one reused chunk
/// buffer; an object-store blob goes through its multipart upload.
pub(crate) async fn encrypt_into_blob(
    writer: crate::storage::BlobWriter,
    encryptor: crate::crypto::StreamEncryptor,
    rx: tokio::sync::mpsc::Receiver<BlobFeed>,
    id: String,
) -> Result<(), crate::storage::BlobError> {
    use crate::storage::{BlobError, BlobWriter};
    match writer {
        BlobWriter::Local(writer) => {
            tokio::task::spawn_blocking(move || encrypt_into_file(writer, encryptor, rx))
                .await
                .map_err(|e| BlobError::Io(std::io::Error::other(e)))?
        }
        BlobWriter::Remote(writer) => encrypt_into_upload(writer, encryptor, rx, id).await,
    }
}

fn encrypt_into_file(
    mut writer: crate::storage::LocalBlobWriter,
    mut encryptor: crate::crypto::StreamEncryptor,
    mut rx: tokio::sync::mpsc::Receiver<BlobFeed>,
) -> Result<(), crate::storage::BlobError> {
    // An error returns early: dropping the writer removes its staging file.
    while let Some(feed) = rx.blocking_recv() {
        match feed {
            BlobFeed::Data(chunk) => encryptor.push_into(&chunk, &mut writer)?,
            BlobFeed::Finish => {
                encryptor.finish_into(&mut writer)?;
                return writer.finish();
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

/// Receives the files, encrypting and storing each; on error, deletes what it stored.
/// `already` files of `already_bytes` bytes (forwarded ones) count towards the limits.
async fn receive_files(
    state: &AppState,
    multipart: &mut Multipart,
    key: &DataKey,
    already: usize,
    already_bytes: u64,
) -> Result<Vec<StoredFile>, AppError> {
    let mut stored: Vec<StoredFile> = Vec::new();
    let mut writing = Vec::new();
    let mut result = receive_into(
        state,
        multipart,
        key,
        &mut stored,
        &mut writing,
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
        delete_blobs(state, &stored).await;
    }
    result.map(|()| stored)
}

type BlobTask = tokio::task::JoinHandle<Result<(), crate::storage::BlobError>>;

/// Starts writing the blob `id` encrypted under `key`: encryption and writes run in
/// their own task, fed through a small bounded channel, so receiving the next bytes
/// overlaps with encrypting and writing the previous ones and memory stays bounded
/// (back-pressure). Closing the channel without [`BlobFeed::Finish`] aborts the blob.
async fn start_blob(
    state: &AppState,
    key: &DataKey,
    id: &str,
) -> Result<(tokio::sync::mpsc::Sender<BlobFeed>, BlobTask), AppError> {
    let writer = state
        .blobs
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

async fn delete_blobs(state: &AppState, files: &[StoredFile]) {
    for file in files {
        if let Err(e) = state.blobs.delete(&file.id).await {
            tracing::warn!(blob = %file.id, error = %e, "could not delete the blob of a failed send; the sweep will");
        }
    }
}

async fn receive_into(
    state: &AppState,
    multipart: &mut Multipart,
    key: &DataKey,
    stored: &mut Vec<StoredFile>,
    writing: &mut Vec<BlobTask>,
    already: usize,
    already_bytes: u64,
) -> Result<(), AppError> {
    let mut total: u64 = already_bytes;
    while let Some(mut field) = multipart.next_field().await.map_err(upload_broken)? {
        if field.name() != Some("attachment") {
            return Err(upload_broken("unexpected part"));
        }
        rules::attachment_count(already + stored.len() + 1)?;
        let name = rules::file_name(field.file_name().unwrap_or(""))?;
        let content_type = content_type(field.content_type());
        let id = uuid::Uuid::new_v4().to_string();
        let (tx, sealing) = start_blob(state, key, &id).await?;
        let mut size: u64 = 0;
        let outcome: Result<(), AppError> = async {
            while let Some(chunk) = field.chunk().await.map_err(upload_broken)? {
                size += chunk.len() as u64;
                total += chunk.len() as u64;
                // Refused as soon as the total passes 25 Mo, not after reading it all.
                if total > limits::MAX_ATTACHMENTS_TOTAL_BYTES {
                    rules::attachment_size(&name.display, size, total)?;
                }
                if tx.send(BlobFeed::Data(chunk)).await.is_err() {
                    break; // The task failed; its error is reported below.
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

/// "Transférer": the original envelope (which the caller must be able to read now) and
/// the attachments named, in order, checked against the limits.
async fn forwarded_files(
    state: &AppState,
    signed_in: &SignedIn,
    forward: &ForwardedFiles,
) -> Result<(envelope::Model, Vec<attachment::Model>), AppError> {
    let (original, _) =
        crate::envelope::read::readable(state, signed_in, &forward.reference).await?;
    let rows = attachment::Entity::find()
        .filter(attachment::Column::EnvelopeId.eq(&original.id))
        .all(&state.db)
        .await?;
    let mut chosen: Vec<attachment::Model> = Vec::new();
    for id in &forward.attachments {
        let Some(row) = rows.iter().find(|a| &a.id == id) else {
            return Err(AppError::on_field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "attachments",
                "forward_attachment_unknown",
                "Une pièce jointe du message d'origine est introuvable : retirez-la et \
                 cliquez de nouveau sur « Envoyer ».",
            ));
        };
        if !chosen.iter().any(|a| a.id == row.id) {
            chosen.push(row.clone());
        }
    }
    rules::attachment_count(chosen.len())?;
    let mut total = 0;
    for row in &chosen {
        total += row.size.max(0) as u64;
        rules::attachment_size(&row.display_name, row.size.max(0) as u64, total)?;
    }
    Ok((original, chosen))
}

/// Re-encrypts the forwarded attachments under the new envelope's key, streaming each
/// from its blob (decrypted with the original's key) into a new blob. On failure,
/// deletes the copies already made.
async fn copy_forwarded(
    state: &AppState,
    original: &envelope::Model,
    rows: &[attachment::Model],
    key: &DataKey,
) -> Result<Vec<StoredFile>, AppError> {
    let original_key = crate::envelope::read::data_key(state, original)?;
    let mut copies = Vec::new();
    for row in rows {
        match copy_one(state, &original_key, row, key).await {
            Ok(file) => copies.push(file),
            Err(e) => {
                delete_blobs(state, &copies).await;
                return Err(e);
            }
        }
    }
    Ok(copies)
}

async fn copy_one(
    state: &AppState,
    original_key: &DataKey,
    row: &attachment::Model,
    key: &DataKey,
) -> Result<StoredFile, AppError> {
    let internal = |e: &dyn std::fmt::Display| AppError::Internal(format!("forward: {e}"));
    let source = state
        .blobs
        .read(&row.blob_id)
        .await
        .map_err(|e| internal(&e))?;
    let mut plain = Box::pin(crate::envelope::read::decrypted(
        source,
        original_key.decryptor(&row.blob_id),
        row.blob_id.clone(),
    ));
    let id = uuid::Uuid::new_v4().to_string();
    let (tx, sealing) = start_blob(state, key, &id).await?;
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
            display: row.display_name.clone(),
            safe: row.safe_name.clone(),
        },
        content_type: row.content_type.clone(),
        size,
    })
}

/// The notification mail of one recipient (manual part 3 §2.1.1). Never the body or
/// the files: only who sent it, its title and the link.
pub fn notification_mail(
    to: &str,
    sender: &str,
    subject: &str,
    origin: &str,
    reference: &str,
) -> crate::mail::OutgoingMail {
    crate::mail::OutgoingMail {
        to: to.to_owned(),
        subject: format!("[MEDIMAIL : Reception] {subject}"),
        text: format!(
            "Bonjour,\r\n\
             \r\n\
             Vous avez reçu une enveloppe Medimail :\r\n\
             \r\n\
             \u{2022} Expéditeur : {sender}\r\n\
             \u{2022} Titre : {subject}\r\n\
             \r\n\
             Pour accéder au contenu de l'enveloppe sécurisée, veuillez cliquer sur le lien \
             suivant ou le copier pour le coller dans la barre d'adresse de votre navigateur \
             Internet :\r\n\
             \r\n\
             {origin}{}#/inbox/open/{reference}\r\n\
             \r\n\
             Cordialement,\r\n\
             L'équipe Medimail\r\n",
            paths::TASKPANE
        ),
    }
}

async fn send(
    State(state): State<AppState>,
    signed_in: SignedIn,
    ClientAddress(client): ClientAddress,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<EnvelopeSealed>), AppError> {
    // 1. The draft, checked before any file is read.
    let Some(field) = multipart.next_field().await.map_err(upload_broken)? else {
        return Err(upload_broken("empty request"));
    };
    if field.name() != Some("envelope") {
        return Err(upload_broken("the first part must be `envelope`"));
    }
    let mut draft_bytes = Vec::new();
    let mut field = field;
    while let Some(chunk) = field.chunk().await.map_err(upload_broken)? {
        draft_bytes.extend_from_slice(&chunk);
        if draft_bytes.len() > MAX_DRAFT_BYTES {
            return Err(AppError::on_field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "body",
                "body_too_large",
                "Le message dépasse 1 Mo : raccourcissez-le ou joignez le texte en pièce jointe.",
            ));
        }
    }
    // The part must be released before the next one is read (multer holds a lock).
    drop(field);
    let draft: EnvelopeDraft = crate::error::parse_json(&draft_bytes)?;
    let now = state.clock.now();
    let recipients = rules::recipients(&draft.to, &draft.cc)?;
    let subject = rules::subject(&draft.subject)?;
    let body = rules::body(&draft.body_html)?;
    let window = rules::opening_window(
        parse_time(draft.opens_from.as_deref(), "opening")?,
        parse_time(draft.opens_until.as_deref(), "opening")?,
        now,
    )?;

    let forward = match &draft.forward {
        Some(f) if !f.attachments.is_empty() => Some(forwarded_files(&state, &signed_in, f).await?),
        _ => None,
    };
    let (forward_count, forward_bytes) = forward.as_ref().map_or((0, 0), |(_, rows)| {
        (rows.len(), rows.iter().map(|r| r.size.max(0) as u64).sum())
    });

    // 2. The files, encrypted as they arrive; then the forwarded ones, re-encrypted
    // under this envelope's key (listed first, as in the original).
    let key = DataKey::generate();
    let uploaded =
        receive_files(&state, &mut multipart, &key, forward_count, forward_bytes).await?;
    let files = match &forward {
        Some((original, rows)) => match copy_forwarded(&state, original, rows, &key).await {
            Ok(mut copies) => {
                copies.extend(uploaded);
                copies
            }
            Err(e) => {
                delete_blobs(&state, &uploaded).await;
                return Err(e);
            }
        },
        None => uploaded,
    };

    // 3. One transaction seals it all; on failure the blobs go.
    let sealed = seal(
        &state,
        &signed_in,
        &key,
        &recipients,
        &subject,
        &body,
        window,
        &files,
        now,
    )
    .await;
    let (envelope, count) = match sealed {
        Ok(done) => done,
        Err(e) => {
            delete_blobs(&state, &files).await;
            return Err(e);
        }
    };
    state.mailer.wake();
    let actor = signed_in.account.label();
    crate::audit::record(
        &state.db,
        &actor,
        "envelope_sealed",
        serde_json::json!({
            "envelope": envelope.id,
            "recipients": count,
            "attachments": files.len(),
            "client": client,
        }),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(EnvelopeSealed {
            reference: envelope.reference,
            sealed_at: envelope.sealed_at.to_rfc3339(),
            recipients: count,
            attachments: files.len(),
        }),
    ))
}

#[allow(clippy::too_many_arguments)]
async fn seal(
    state: &AppState,
    signed_in: &SignedIn,
    key: &DataKey,
    recipients: &rules::Recipients,
    subject: &str,
    body: &str,
    window: rules::OpeningWindow,
    files: &[StoredFile],
    now: DateTime<Utc>,
) -> Result<(envelope::Model, usize), AppError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let id = uuid::Uuid::new_v4().to_string();
    let reference = new_reference();
    let sender = signed_in.account.mailbox.clone().unwrap_or_default();
    let txn = crate::db::begin_write(&state.db).await?;
    let envelope = envelope::ActiveModel {
        id: Set(id.clone()),
        reference: Set(reference.clone()),
        sender_account_id: Set(signed_in.account.id.clone()),
        sender_mailbox: Set(sender.clone()),
        sender_name: Set(signed_in.account.display_name.clone()),
        subject: Set(subject.to_owned()),
        body_sealed: Set(b64.encode(key.seal(&format!("{id}/body"), body.as_bytes()))),
        wrapped_key: Set(b64.encode(key.wrap(&state.keys, &id))),
        engine: Set(crate::crypto::ENGINE.to_owned()),
        sealed_at: Set(now),
        opens_from: Set(window.from),
        opens_until: Set(window.until),
        attachment_count: Set(files.len() as i32),
        sender_deleted_at: Set(None),
        sender_removed_at: Set(None),
        purged_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let mut count = 0;
    for (kind, list) in [("to", &recipients.to), ("cc", &recipients.cc)] {
        for address in list.iter() {
            let account = crate::auth::account::for_recipient(&txn, address).await?;
            envelope_recipient::ActiveModel {
                id: Set(uuid::Uuid::new_v4().to_string()),
                envelope_id: Set(id.clone()),
                account_id: Set(account.id.clone()),
                address: Set(address.clone()),
                kind: Set(kind.to_owned()),
                position: Set(count as i32),
                opened_at: Set(None),
                deleted_at: Set(None),
                removed_at: Set(None),
                sealed_at: Set(Some(now)),
            }
            .insert(&txn)
            .await?;
            let mail = notification_mail(
                address,
                &sender,
                subject,
                &state.config.origin(),
                &reference,
            );
            crate::mail::enqueue(
                &txn,
                &state.keys,
                now,
                "notification",
                Some(&account.id),
                &mail,
            )
            .await?;
            count += 1;
        }
    }
    for (position, file) in files.iter().enumerate() {
        attachment::ActiveModel {
            id: Set(file.id.clone()),
            envelope_id: Set(id.clone()),
            position: Set(position as i32),
            display_name: Set(file.name.display.clone()),
            safe_name: Set(file.name.safe.clone()),
            content_type: Set(file.content_type.clone()),
            size: Set(file.size as i64),
            blob_id: Set(file.id.clone()),
        }
        .insert(&txn)
        .await?;
    }
    envelope_event::ActiveModel {
        envelope_id: Set(id.clone()),
        kind: Set("sealed".to_owned()),
        account_id: Set(Some(signed_in.account.id.clone())),
        actor: Set(sender),
        occurred_at: Set(now),
        detail: Set("{}".to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok((envelope, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_carry_192_random_bits() {
        let a = new_reference();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_reference());
    }

    #[test]
    fn content_types_are_kept_only_when_plausible() {
        assert_eq!(content_type(Some("application/pdf")), "application/pdf");
        assert_eq!(
            content_type(Some("text/html\r\nX: y")),
            "application/octet-stream"
        );
        assert_eq!(content_type(None), "application/octet-stream");
    }

    #[test]
    fn the_notification_names_sender_and_title_and_links_the_reference_only() {
        let m = notification_mail(
            "a@b.fr",
            "s@chu.fr",
            "Compte rendu M. BLANC",
            "https://medimail.chu.fr",
            "REF123",
        );
        assert_eq!(m.subject, "[MEDIMAIL : Reception] Compte rendu M. BLANC");
        assert!(m.text.contains("Expéditeur : s@chu.fr"));
        assert!(m.text.contains("Titre : Compte rendu M. BLANC"));
        assert!(
            m.text
                .contains("https://medimail.chu.fr/taskpane.html#/inbox/open/REF123")
        );
    }
}
