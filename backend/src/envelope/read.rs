//! Reading an envelope: only the sender and the recipients get an answer; anyone else
//! gets "not found", so that an envelope's existence is not revealed. Recipients see
//! nothing outside the opening window. The first opening by each recipient records one
//! "Ouverture" event and queues a mail to the sender; each download records an event.
//! Attachments are decrypted as they stream out.

use base64::Engine;
use chrono::{DateTime, Months, Utc};
use futures::StreamExt;
use medimail_api::{AttachmentInfo, EnvelopeEventInfo, EnvelopeView, EventKind};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::refusal::EnvelopeRefusal;
use super::stores::Stores;
use crate::account::entity::account;
use crate::envelope::entity::{attachment, envelope, envelope_event, envelope_recipient};
use crate::error::AppError;
use crate::keys::Keys;

/// The envelope and the caller's recipient row (None for the sender), or 404.
pub async fn accessible<C: ConnectionTrait>(
    db: &C,
    caller: &account::Model,
    reference: &str,
) -> Result<(envelope::Model, Option<envelope_recipient::Model>), AppError> {
    if reference.len() > 64 {
        return Err(AppError::NotFound);
    }
    let envelope = envelope::Entity::find()
        .filter(envelope::Column::Reference.eq(reference))
        .filter(envelope::Column::PurgedAt.is_null())
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    let me = &caller.id;
    let recipient = envelope_recipient::Entity::find()
        .filter(envelope_recipient::Column::EnvelopeId.eq(&envelope.id))
        .filter(envelope_recipient::Column::AccountId.eq(me))
        .one(db)
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
pub async fn readable<C: ConnectionTrait>(
    db: &C,
    caller: &account::Model,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<(envelope::Model, Option<envelope_recipient::Model>), AppError> {
    let (envelope, recipient) = accessible(db, caller, reference).await?;
    if envelope.sender_account_id != caller.id {
        check_window(&envelope, now)?;
    }
    Ok((envelope, recipient))
}

/// Refuses outside "Conditions d'ouverture", with the dates, serving no content.
pub fn check_window(envelope: &envelope::Model, now: DateTime<Utc>) -> Result<(), EnvelopeRefusal> {
    if now < envelope.opens_from {
        return Err(EnvelopeRefusal::NotOpenYet(envelope.opens_from));
    }
    if now > envelope.opens_until {
        return Err(EnvelopeRefusal::Closed(envelope.opens_until));
    }
    Ok(())
}

/// Records the first opening by a recipient: one event, and the mails the sender, the
/// reader and the other recipients want (« Notifications »).
async fn record_opening(
    db: &DatabaseConnection,
    keys: &Keys,
    reader: &account::Model,
    envelope: &envelope::Model,
    recipient: &envelope_recipient::Model,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let txn = crate::db::begin_write(db).await?;
    let counted = super::unread::Rows::lock_ids(&txn, vec![recipient.id.clone()]).await?;
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
        return Ok(false);
    }
    counted.settle(&txn).await?;
    let who = reader.label();
    envelope_event::ActiveModel {
        envelope_id: Set(envelope.id.clone()),
        kind: Set(EventKind::Opened.as_str().to_owned()),
        account_id: Set(Some(reader.id.clone())),
        actor: Set(who.clone()),
        occurred_at: Set(now),
        detail: Set("{}".to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    // Never the title (health data leaving by plain mail): the date the envelope was
    // sent says which one, and the pane shows the rest. Each mail as its addressee's
    // « Notifications » say.
    let sent = crate::fr::date_time(envelope.sealed_at);
    let opened = crate::fr::date_time(now);
    let mut mails: Vec<(String, crate::mail::OutgoingMail)> = Vec::new();
    if crate::account::notifications::of(&txn, &envelope.sender_account_id)
        .await?
        .opened_by_others_sent
    {
        mails.push((
            envelope.sender_account_id.clone(),
            crate::mail::OutgoingMail {
                to: envelope.sender_mailbox.clone(),
                subject: format!("[MEDIMAIL : Ouverture] Votre enveloppe du {sent} a été ouverte"),
                text: format!(
                    "Bonjour,\r\n\r\nVotre enveloppe Medimail envoyée le {sent} a été ouverte par {who} le {opened}.\r\n\r\nRetrouvez-la dans « Messages envoyés ».\r\n\r\nL'équipe Medimail\r\n"
                ),
                ..Default::default()
            },
        ));
    }
    if let Some(mailbox) = &reader.mailbox
        && crate::account::notifications::of(&txn, &reader.id)
            .await?
            .opened_by_me_received
    {
        mails.push((
            reader.id.clone(),
            crate::mail::OutgoingMail {
                to: mailbox.clone(),
                subject: format!("[MEDIMAIL : Ouverture] Vous avez ouvert l'enveloppe du {sent}"),
                text: format!(
                    "Bonjour,\r\n\r\nVous avez ouvert le {opened} l'enveloppe Medimail reçue le {sent}.\r\n\r\nL'équipe Medimail\r\n"
                ),
                ..Default::default()
            },
        ));
    }
    // The other recipients who want to know.
    let others: Vec<String> = envelope_recipient::Entity::find()
        .select_only()
        .column(envelope_recipient::Column::AccountId)
        .filter(envelope_recipient::Column::EnvelopeId.eq(&envelope.id))
        .filter(envelope_recipient::Column::AccountId.ne(reader.id.as_str()))
        .filter(envelope_recipient::Column::AccountId.ne(envelope.sender_account_id.as_str()))
        .into_tuple()
        .all(&txn)
        .await?;
    let wanting: Vec<String> = crate::account::notifications::of_each(&txn, &others)
        .await?
        .into_iter()
        .filter(|(_, s)| s.opened_by_others_received)
        .map(|(id, _)| id)
        .collect();
    if !wanting.is_empty() {
        for other in account::Entity::find()
            .filter(account::Column::Id.is_in(wanting))
            .all(&txn)
            .await?
        {
            let Some(mailbox) = other.mailbox.clone() else {
                continue;
            };
            mails.push((
                other.id.clone(),
                crate::mail::OutgoingMail {
                    to: mailbox,
                    subject: format!(
                        "[MEDIMAIL : Ouverture] L'enveloppe du {sent} que vous avez reçue a été ouverte"
                    ),
                    text: format!(
                        "Bonjour,\r\n\r\nL'enveloppe Medimail du {sent} que vous avez reçue a été ouverte par {who} le {opened}.\r\n\r\nL'équipe Medimail\r\n"
                    ),
                    ..Default::default()
                },
            ));
        }
    }
    for (account_id, mail) in &mails {
        crate::account::delegation::enqueue_with_copies(
            &txn,
            keys,
            now,
            "opening_notification",
            account_id,
            mail,
        )
        .await?;
    }
    crate::audit::append(
        &txn,
        keys,
        &who,
        "envelope_opened",
        serde_json::json!({"envelope": envelope.id, "account": reader.id, "first": true}),
    )
    .await?;
    txn.commit().await?;
    Ok(true)
}

/// The envelope `reference` as `reader` sees it; its first opening by a recipient is
/// recorded (one event, one mail to the sender queued: the returned flag says so, for
/// the caller to wake the mailer).
pub async fn open(
    stores: Stores<'_>,
    reader: &account::Model,
    reference: &str,
    now: DateTime<Utc>,
) -> Result<(EnvelopeView, bool), AppError> {
    let (envelope, recipient) = readable(stores.db, reader, reference, now).await?;
    let mut mail_queued = false;
    if let Some(recipient) = &recipient
        && envelope.sender_account_id != reader.id
    {
        mail_queued =
            record_opening(stores.db, stores.keys, reader, &envelope, recipient, now).await?;
    }
    if !mail_queued {
        // Every later reading is traced too (the first is, with its event and mail).
        crate::audit::record(
            stores.db,
            stores.keys,
            &reader.label(),
            "envelope_opened",
            serde_json::json!({"envelope": envelope.id, "account": reader.id, "first": false}),
        )
        .await?;
    }
    let key = super::at_rest::data_key(stores.keys, &envelope)?;
    let shown = super::at_rest::shown_with(&key, &envelope)?;
    let body_html = body(&key, &envelope)?;
    let recipients = envelope_recipient::Entity::find()
        .filter(envelope_recipient::Column::EnvelopeId.eq(&envelope.id))
        .order_by_asc(envelope_recipient::Column::Position)
        .all(stores.db)
        .await?;
    let attachments = attachment::Entity::find()
        .filter(attachment::Column::EnvelopeId.eq(&envelope.id))
        .order_by_asc(attachment::Column::Position)
        .all(stores.db)
        .await?;
    // The first events (sealing, the first openings and downloads) and how many in all:
    // a much-downloaded envelope does not make an unbounded answer.
    let events = envelope_event::Entity::find()
        .filter(envelope_event::Column::EnvelopeId.eq(&envelope.id))
        .order_by_asc(envelope_event::Column::Id)
        .limit(medimail_api::limits::EVENTS_SHOWN)
        .all(stores.db)
        .await?;
    let events_total = if (events.len() as u64) < medimail_api::limits::EVENTS_SHOWN {
        events.len() as u64
    } else {
        envelope_event::Entity::find()
            .filter(envelope_event::Column::EnvelopeId.eq(&envelope.id))
            .count(stores.db)
            .await?
    };
    // "Destinataires": each recipient's name, where its account has one.
    let named = {
        let ids: Vec<&str> = recipients.iter().map(|r| r.account_id.as_str()).collect();
        let accounts = account::Entity::find()
            .filter(account::Column::Id.is_in(ids))
            .all(stores.db)
            .await?;
        recipients
            .iter()
            .map(|r| {
                accounts
                    .iter()
                    .find(|a| a.id == r.account_id)
                    .and_then(|a| a.display_name.as_deref())
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map_or_else(
                        || r.address.clone(),
                        |n| format!("{} ({})", crate::fr::family_first(n), r.address),
                    )
            })
            .collect::<Vec<_>>()
    };
    let metas = attachments
        .iter()
        .map(|a| super::at_rest::attachment_meta(&key, a))
        .collect::<Result<Vec<_>, _>>()?;
    let name_of = |id: &str| {
        attachments
            .iter()
            .zip(&metas)
            .find(|(a, _)| a.id == id)
            .map(|(_, m)| m.name.clone())
    };
    // The envelope it answers, named only to a reader who may see it too.
    let in_reply_to = match &envelope.in_reply_to_id {
        Some(id) => match envelope::Entity::find_by_id(id).one(stores.db).await? {
            Some(answered) => accessible(stores.db, reader, &answered.reference)
                .await
                .ok()
                .map(|(e, _)| e.reference),
            None => None,
        },
        None => None,
    };
    let view = EnvelopeView {
        reference: envelope.reference.clone(),
        subject: shown.subject,
        sender: envelope.sender_mailbox.clone(),
        sender_name: shown.sender_name,
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
        recipients_named: named,
        sealed_at: envelope.sealed_at.to_rfc3339(),
        sent_on: crate::fr::long_date_time(envelope.sealed_at),
        opens_from: envelope.opens_from.to_rfc3339(),
        opens_until: envelope.opens_until.to_rfc3339(),
        engine: envelope.engine.clone(),
        body_html,
        attachments: attachments
            .iter()
            .zip(&metas)
            .map(|(a, m)| AttachmentInfo {
                id: a.id.clone(),
                name: crate::envelope::rules::shown_name(&m.name),
                size: a.size.max(0) as u64,
                content_type: m.content_type.clone(),
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
        events_total,
        kept_until: envelope
            .sealed_at
            .checked_add_months(Months::new(medimail_api::retention::KEPT_MONTHS))
            .unwrap_or(envelope.sealed_at)
            .to_rfc3339(),
        deleted: (envelope.sender_account_id == reader.id && envelope.sender_deleted_at.is_some())
            || recipient.as_ref().is_some_and(|r| r.deleted_at.is_some()),
        sent_by_me: envelope.sender_account_id == reader.id,
        in_reply_to,
    };
    Ok((view, mail_queued))
}

/// The envelope's body (HTML), opened with its data key and sanitised again on the way
/// out: stored HTML is not trusted even if altered.
pub fn body(key: &crate::crypto::DataKey, envelope: &envelope::Model) -> Result<String, AppError> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&envelope.body_sealed)
        .map_err(|e| AppError::Internal(format!("body: {e}")))?;
    let body = key
        .open(&format!("{}/body", envelope.id), &sealed)
        .map_err(|e| AppError::Internal(format!("envelope {} body: {e}", envelope.id)))?;
    Ok(crate::envelope::rules::body(&String::from_utf8_lossy(&body)).unwrap_or_default())
}

/// The plaintext of a blob, decrypted as it streams; an altered or truncated blob ends
/// the stream with an error at the first bad chunk.
pub fn decrypted(
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

/// `attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded` (RFC 6266),
/// both from the safe name (no path, no quotes) without format characters: never the
/// name as the sender typed it.
pub fn content_disposition(safe: &str) -> String {
    let safe = crate::envelope::rules::shown_name(safe);
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
    let encoded: String = safe
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

/// An attachment being downloaded: its row and its plaintext, decrypted as it streams.
pub struct Download<S> {
    pub file: attachment::Model,
    /// Its name and type, opened (`at_rest`).
    pub meta: super::at_rest::AttachmentMeta,
    pub stream: S,
}

/// The attachment `id` of envelope `reference`, for `reader`; the download is recorded.
pub async fn download(
    stores: Stores<'_>,
    reader: &account::Model,
    reference: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<
    Download<impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static>,
    AppError,
> {
    let (envelope, _) = readable(stores.db, reader, reference, now).await?;
    let file = attachment::Entity::find_by_id(id)
        .filter(attachment::Column::EnvelopeId.eq(&envelope.id))
        .one(stores.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let key = super::at_rest::data_key(stores.keys, &envelope)?;
    let meta = super::at_rest::attachment_meta(&key, &file)?;
    let blob = stores
        .blobs
        .read(&file.blob_id)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let txn = crate::db::begin_write(stores.db).await?;
    envelope_event::ActiveModel {
        envelope_id: Set(envelope.id.clone()),
        kind: Set(EventKind::Downloaded.as_str().to_owned()),
        account_id: Set(Some(reader.id.clone())),
        actor: Set(reader.label()),
        occurred_at: Set(now),
        detail: Set(serde_json::json!({"attachment": file.id}).to_string()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::audit::append(
        &txn,
        stores.keys,
        &reader.label(),
        "attachment_downloaded",
        serde_json::json!({"envelope": envelope.id, "account": reader.id, "attachment": file.id}),
    )
    .await?;
    txn.commit().await?;
    // Decrypted as it streams out; an altered blob ends the stream with an error (the
    // client sees a truncated download, never unauthenticated bytes past the bad chunk).
    let stream = decrypted(blob, key.decryptor(&file.blob_id), file.blob_id.clone());
    Ok(Download { file, meta, stream })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_attachments_named_by_rfc_6266() {
        assert_eq!(
            content_disposition("résultat.pdf"),
            "attachment; filename=\"r_sultat.pdf\"; filename*=UTF-8''r%C3%A9sultat.pdf"
        );
        // A name stored before format characters were removed at upload.
        assert_eq!(
            content_disposition("facture\u{202E}fdp.exe"),
            "attachment; filename=\"facturefdp.exe\"; filename*=UTF-8''facturefdp.exe"
        );
    }
}
