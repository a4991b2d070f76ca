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
use medimail_api::{EnvelopeDraft, EnvelopeSealed, ErrorBody, limits, paths};
use sea_orm::{ActiveModelTrait, Set};

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
enum BlobFeed {
    Data(bytes::Bytes),
    /// All bytes sent: finish the blob. A channel closed without it aborts the blob.
    Finish,
}

/// Encrypts what arrives on `rx` and writes it to `writer`; finishes the blob on
/// [`BlobFeed::Finish`], aborts it if the channel closes first or a write fails.
async fn encrypt_into_blob(
    mut writer: crate::storage::BlobWriter,
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
async fn receive_files(
    state: &AppState,
    multipart: &mut Multipart,
    key: &DataKey,
) -> Result<Vec<StoredFile>, AppError> {
    let mut stored: Vec<StoredFile> = Vec::new();
    let result = receive_into(state, multipart, key, &mut stored).await;
    if result.is_err() {
        for file in &stored {
            if let Err(e) = state.blobs.delete(&file.id).await {
                tracing::warn!(blob = %file.id, error = %e, "could not delete the blob of a failed send; the sweep will");
            }
        }
    }
    result.map(|()| stored)
}

async fn receive_into(
    state: &AppState,
    multipart: &mut Multipart,
    key: &DataKey,
    stored: &mut Vec<StoredFile>,
) -> Result<(), AppError> {
    let mut total: u64 = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(upload_broken)? {
        if field.name() != Some("attachment") {
            return Err(upload_broken("unexpected part"));
        }
        rules::attachment_count(stored.len() + 1)?;
        let name = rules::file_name(field.file_name().unwrap_or(""))?;
        let content_type = content_type(field.content_type());
        let id = uuid::Uuid::new_v4().to_string();
        let writer = state
            .blobs
            .writer(&id)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        // Encryption and blob writes run in their own task, fed through a small bounded
        // channel: receiving the next bytes overlaps with encrypting and writing the
        // previous ones, and memory stays bounded (back-pressure).
        let (tx, rx) = tokio::sync::mpsc::channel::<BlobFeed>(8);
        let sealing = tokio::spawn(encrypt_into_blob(
            writer,
            key.encryptor(&id),
            rx,
            id.clone(),
        ));
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
        // Without `Finish`, the task aborts the blob.
        drop(tx);
        let written = sealing
            .await
            .map_err(|e| AppError::Internal(format!("blob task: {e}")))?;
        outcome?;
        written.map_err(|e| AppError::Internal(e.to_string()))?;
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

    // 2. The files, encrypted as they arrive.
    let key = DataKey::generate();
    let files = receive_files(&state, &mut multipart, &key).await?;

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
            for file in &files {
                let _ = state.blobs.delete(&file.id).await;
            }
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
