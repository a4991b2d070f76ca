//! Reading an envelope: `GET /api/envelopes/{reference}` and
//! `GET /api/envelopes/{reference}/attachments/{id}` (streamed, decrypted on the fly).
//! Only the sender and the recipients get an answer; anyone else gets 404, so that an
//! envelope's existence is not revealed. Recipients see nothing outside the opening
//! window. The first opening by each recipient records one "Ouverture" event and mails
//! the sender; each download records an event.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Months, Utc};
use futures::StreamExt;
use medimail_api::{AttachmentInfo, EnvelopeEventInfo, EnvelopeView, ErrorBody};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::auth::session::SignedIn;
use crate::crypto::DataKey;
use crate::entity::{attachment, envelope, envelope_event, envelope_recipient};
use crate::error::AppError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/envelopes/{reference}", get(open).delete(remove))
        .route("/api/envelopes/{reference}/attachments/{id}", get(download))
        .route("/api/envelopes/{reference}/delete", post(move_to_deleted))
        .route("/api/envelopes/{reference}/restore", post(restore))
}

/// What a folder action changes, for the caller's role(s) in the envelope.
#[derive(Clone, Copy)]
enum FolderAction {
    Delete,
    Restore,
    Remove,
}

async fn folder_action(
    state: &AppState,
    signed_in: &SignedIn,
    reference: &str,
    action: FolderAction,
) -> Result<StatusCode, AppError> {
    let (envelope, recipient) = accessible(state, signed_in, reference).await?;
    let now = state.clock.now();
    let me = &signed_in.account.id;
    let in_deleted = (envelope.sender_account_id == *me && envelope.sender_deleted_at.is_some())
        || recipient.as_ref().is_some_and(|r| r.deleted_at.is_some());
    if matches!(action, FolderAction::Remove) && !in_deleted {
        return Err(AppError::rejected(
            StatusCode::CONFLICT,
            "envelope_not_deleted",
            "Seuls les messages de « Messages supprimés » peuvent être supprimés définitivement.",
        ));
    }
    let txn = crate::db::begin_write(&state.db).await?;
    if envelope.sender_account_id == *me {
        let column = match action {
            FolderAction::Remove => envelope::Column::SenderRemovedAt,
            _ => envelope::Column::SenderDeletedAt,
        };
        let value = match action {
            FolderAction::Restore => None,
            _ => Some(now),
        };
        envelope::Entity::update_many()
            .col_expr(column, Expr::value(value))
            .filter(envelope::Column::Id.eq(&envelope.id))
            .exec(&txn)
            .await?;
    }
    if let Some(r) = &recipient {
        let column = match action {
            FolderAction::Remove => envelope_recipient::Column::RemovedAt,
            _ => envelope_recipient::Column::DeletedAt,
        };
        let value = match action {
            FolderAction::Restore => None,
            _ => Some(now),
        };
        envelope_recipient::Entity::update_many()
            .col_expr(column, Expr::value(value))
            .filter(envelope_recipient::Column::Id.eq(&r.id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Supprimer": to "Messages supprimés", for the caller only.
async fn move_to_deleted(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<StatusCode, AppError> {
    folder_action(&state, &signed_in, &reference, FolderAction::Delete).await
}

/// Back from "Messages supprimés".
async fn restore(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<StatusCode, AppError> {
    folder_action(&state, &signed_in, &reference, FolderAction::Restore).await
}

/// "Supprimer définitivement" (from "Messages supprimés"), for the caller only; the
/// envelope itself stays until its retention ends, for the others.
async fn remove(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<StatusCode, AppError> {
    folder_action(&state, &signed_in, &reference, FolderAction::Remove).await
}

/// The envelope and the caller's recipient row (None for the sender), or 404.
async fn accessible(
    state: &AppState,
    signed_in: &SignedIn,
    reference: &str,
) -> Result<(envelope::Model, Option<envelope_recipient::Model>), AppError> {
    if reference.len() > 64 {
        return Err(AppError::NotFound);
    }
    let envelope = envelope::Entity::find()
        .filter(envelope::Column::Reference.eq(reference))
        .filter(envelope::Column::PurgedAt.is_null())
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let me = &signed_in.account.id;
    let recipient = envelope_recipient::Entity::find()
        .filter(envelope_recipient::Column::EnvelopeId.eq(&envelope.id))
        .filter(envelope_recipient::Column::AccountId.eq(me))
        .one(&state.db)
        .await?;
    if envelope.sender_account_id != *me && recipient.is_none() {
        return Err(AppError::NotFound);
    }
    // Removed for good by the caller: gone for them.
    let sender_removed = envelope.sender_account_id == *me && envelope.sender_removed_at.is_some();
    let recipient_removed = recipient.as_ref().is_none_or(|r| r.removed_at.is_some());
    if (envelope.sender_account_id != *me || sender_removed) && recipient_removed {
        return Err(AppError::NotFound);
    }
    Ok((envelope, recipient))
}

/// [`accessible`], and for a recipient (who is not also the sender) only inside the
/// opening window.
pub(crate) async fn readable(
    state: &AppState,
    signed_in: &SignedIn,
    reference: &str,
) -> Result<(envelope::Model, Option<envelope_recipient::Model>), AppError> {
    let (envelope, recipient) = accessible(state, signed_in, reference).await?;
    if envelope.sender_account_id != signed_in.account.id {
        check_window(&envelope, state.clock.now())?;
    }
    Ok((envelope, recipient))
}

/// Refuses outside "Conditions d'ouverture", with the dates, serving no content.
pub fn check_window(envelope: &envelope::Model, now: DateTime<Utc>) -> Result<(), AppError> {
    if now < envelope.opens_from {
        return Err(AppError::Rejected(
            StatusCode::FORBIDDEN,
            ErrorBody::new(
                "envelope_not_open_yet",
                format!(
                    "Cette enveloppe ne peut être ouverte qu'à partir du {}.",
                    crate::fr::date_time(envelope.opens_from)
                ),
            ),
        ));
    }
    if now > envelope.opens_until {
        return Err(AppError::Rejected(
            StatusCode::FORBIDDEN,
            ErrorBody::new(
                "envelope_closed",
                format!(
                    "Cette enveloppe ne pouvait être ouverte que jusqu'au {}.",
                    crate::fr::date_time(envelope.opens_until)
                ),
            ),
        ));
    }
    Ok(())
}

pub(crate) fn data_key(state: &AppState, envelope: &envelope::Model) -> Result<DataKey, AppError> {
    let wrapped = base64::engine::general_purpose::STANDARD
        .decode(&envelope.wrapped_key)
        .map_err(|e| AppError::Internal(format!("wrapped key: {e}")))?;
    DataKey::unwrap(&state.keys, &envelope.id, &wrapped)
        .map_err(|e| AppError::Internal(format!("envelope {}: {e}", envelope.id)))
}

/// Records the first opening by a recipient: one event, one mail to the sender.
async fn record_opening(
    state: &AppState,
    signed_in: &SignedIn,
    envelope: &envelope::Model,
    recipient: &envelope_recipient::Model,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let first = envelope_recipient::Entity::update_many()
        .col_expr(envelope_recipient::Column::OpenedAt, Expr::value(Some(now)))
        .filter(envelope_recipient::Column::Id.eq(&recipient.id))
        .filter(envelope_recipient::Column::OpenedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !first {
        txn.rollback().await?;
        return Ok(());
    }
    let who = signed_in.account.label();
    envelope_event::ActiveModel {
        envelope_id: Set(envelope.id.clone()),
        kind: Set("opened".to_owned()),
        account_id: Set(Some(signed_in.account.id.clone())),
        actor: Set(who.clone()),
        occurred_at: Set(now),
        detail: Set("{}".to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mail = crate::mail::OutgoingMail {
        to: envelope.sender_mailbox.clone(),
        subject: format!("[MEDIMAIL : Ouverture] {}", envelope.subject),
        text: format!(
            "Bonjour,\r\n\r\nVotre enveloppe Medimail « {} » a été ouverte par {} le {}.\r\n\r\nL'équipe Medimail\r\n",
            envelope.subject,
            who,
            crate::fr::date_time(now)
        ),
    };
    crate::mail::enqueue(
        &txn,
        &state.keys,
        now,
        "opening_notification",
        Some(&envelope.sender_account_id),
        &mail,
    )
    .await?;
    txn.commit().await?;
    state.mailer.wake();
    Ok(())
}

async fn open(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(reference): Path<String>,
) -> Result<Json<EnvelopeView>, AppError> {
    let (envelope, recipient) = readable(&state, &signed_in, &reference).await?;
    if let Some(recipient) = &recipient
        && envelope.sender_account_id != signed_in.account.id
    {
        record_opening(&state, &signed_in, &envelope, recipient).await?;
    }
    let key = data_key(&state, &envelope)?;
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&envelope.body_sealed)
        .map_err(|e| AppError::Internal(format!("body: {e}")))?;
    let body = key
        .open(&format!("{}/body", envelope.id), &sealed)
        .map_err(|e| AppError::Internal(format!("envelope {} body: {e}", envelope.id)))?;
    // Sanitised again on the way out: stored HTML is not trusted even if altered.
    let body_html =
        crate::envelope::rules::body(&String::from_utf8_lossy(&body)).unwrap_or_default();
    let recipients = envelope_recipient::Entity::find()
        .filter(envelope_recipient::Column::EnvelopeId.eq(&envelope.id))
        .order_by_asc(envelope_recipient::Column::Position)
        .all(&state.db)
        .await?;
    let attachments = attachment::Entity::find()
        .filter(attachment::Column::EnvelopeId.eq(&envelope.id))
        .order_by_asc(attachment::Column::Position)
        .all(&state.db)
        .await?;
    let events = envelope_event::Entity::find()
        .filter(envelope_event::Column::EnvelopeId.eq(&envelope.id))
        .order_by_asc(envelope_event::Column::Id)
        .all(&state.db)
        .await?;
    let name_of = |id: &str| {
        attachments
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.display_name.clone())
    };
    Ok(Json(EnvelopeView {
        reference: envelope.reference.clone(),
        subject: envelope.subject.clone(),
        sender: envelope.sender_mailbox.clone(),
        sender_name: envelope.sender_name.clone(),
        to: recipients
            .iter()
            .filter(|r| r.kind == "to")
            .map(|r| r.address.clone())
            .collect(),
        cc: recipients
            .iter()
            .filter(|r| r.kind == "cc")
            .map(|r| r.address.clone())
            .collect(),
        sealed_at: envelope.sealed_at.to_rfc3339(),
        sent_on: crate::fr::long_date_time(envelope.sealed_at),
        opens_from: envelope.opens_from.to_rfc3339(),
        opens_until: envelope.opens_until.to_rfc3339(),
        engine: envelope.engine.clone(),
        body_html,
        attachments: attachments
            .iter()
            .map(|a| AttachmentInfo {
                id: a.id.clone(),
                name: a.display_name.clone(),
                size: a.size.max(0) as u64,
                content_type: a.content_type.clone(),
            })
            .collect(),
        events: events
            .iter()
            .map(|e| EnvelopeEventInfo {
                kind: e.kind.clone(),
                actor: e.actor.clone(),
                at: e.occurred_at.to_rfc3339(),
                when: crate::fr::date_time(e.occurred_at),
                attachment: serde_json::from_str::<serde_json::Value>(&e.detail)
                    .ok()
                    .and_then(|d| d["attachment"].as_str().and_then(name_of)),
            })
            .collect(),
        kept_until: envelope
            .sealed_at
            .checked_add_months(Months::new(3))
            .unwrap_or(envelope.sealed_at)
            .to_rfc3339(),
        deleted: (envelope.sender_account_id == signed_in.account.id
            && envelope.sender_deleted_at.is_some())
            || recipient.as_ref().is_some_and(|r| r.deleted_at.is_some()),
        sent_by_me: envelope.sender_account_id == signed_in.account.id,
    }))
}

/// The plaintext of a blob, decrypted as it streams; an altered or truncated blob ends
/// the stream with an error at the first bad chunk.
pub(crate) fn decrypted(
    blob: impl futures::Stream<Item = Result<bytes::Bytes, crate::storage::BlobError>> + Send + 'static,
    decryptor: crate::crypto::StreamDecryptor,
    blob_id: String,
) -> impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    // Empty pieces (a read that completed no chunk) are not sent: some body adapters
    // take an empty frame for the end of the stream.
    futures::stream::unfold(
        (Box::pin(blob), Some(decryptor)),
        move |(mut blob, decryptor)| {
            let blob_id = blob_id.clone();
            async move {
                let mut decryptor = decryptor?;
                match blob.next().await {
                    Some(Ok(bytes)) => match decryptor.push(&bytes) {
                        Ok(plain) => Some((Ok(bytes::Bytes::from(plain)), (blob, Some(decryptor)))),
                        Err(e) => {
                            tracing::error!(blob = %blob_id, error = %e, "attachment failed authentication");
                            Some((
                                Err(std::io::Error::other("altered attachment")),
                                (blob, None),
                            ))
                        }
                    },
                    Some(Err(e)) => Some((Err(std::io::Error::other(e.to_string())), (blob, None))),
                    None => match decryptor.finish() {
                        Ok(last) => Some((Ok(bytes::Bytes::from(last)), (blob, None))),
                        Err(e) => {
                            tracing::error!(blob = %blob_id, error = %e, "attachment truncated");
                            Some((
                                Err(std::io::Error::other("truncated attachment")),
                                (blob, None),
                            ))
                        }
                    },
                }
            }
        },
    )
    .filter(|piece| std::future::ready(!matches!(piece, Ok(bytes) if bytes.is_empty())))
}

/// `attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded` (RFC 6266).
pub fn content_disposition(safe: &str, display: &str) -> String {
    let ascii: String = safe
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    let encoded: String = display
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn download(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((reference, id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (envelope, _) = readable(&state, &signed_in, &reference).await?;
    let file = attachment::Entity::find_by_id(&id)
        .filter(attachment::Column::EnvelopeId.eq(&envelope.id))
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let key = data_key(&state, &envelope)?;
    let blob = state
        .blobs
        .read(&file.blob_id)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    envelope_event::ActiveModel {
        envelope_id: Set(envelope.id.clone()),
        kind: Set("downloaded".to_owned()),
        account_id: Set(Some(signed_in.account.id.clone())),
        actor: Set(signed_in.account.label()),
        occurred_at: Set(state.clock.now()),
        detail: Set(serde_json::json!({"attachment": file.id}).to_string()),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    // Decrypted as it streams out; an altered blob ends the stream with an error (the
    // client sees a truncated download, never unauthenticated bytes past the bad chunk).
    let stream = decrypted(blob, key.decryptor(&file.blob_id), file.blob_id.clone());
    let mut response = Response::new(Body::from_stream(stream));
    response.extensions_mut().insert(crate::http::Uncompressed);
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&file.safe_name, &file.display_name))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(file.size.max(0) as u64),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_attachments_named_by_rfc_6266() {
        assert_eq!(
            content_disposition("resultat.pdf", "résultat.pdf"),
            "attachment; filename=\"resultat.pdf\"; filename*=UTF-8''r%C3%A9sultat.pdf"
        );
        let d = content_disposition("a_b.pdf", "a\"b.pdf");
        assert!(d.contains("filename*=UTF-8''a%22b.pdf"), "{d}");
    }
}
