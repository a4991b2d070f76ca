//! "Envoyer": the draft checked against the rules before anything is kept, the files
//! received and encrypted (`upload`), then one transaction seals the envelope: envelope,
//! recipients, attachment rows, the "Scellement" event and one notification per recipient
//! in the outbox. On any failure the blobs already written are deleted at once and
//! nothing else was written.

use axum::extract::Multipart;
use base64::Engine;
use chrono::{DateTime, Utc};
use medimail_api::{EnvelopeSealed, EventKind, ForwardedFiles};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use super::refusal::EnvelopeRefusal;
use super::rules;
pub use super::stores::Stores;
use super::upload::{self, StoredFile};
use crate::account::entity::account;
use crate::crypto::DataKey;
use crate::envelope::entity::{attachment, envelope, envelope_event, envelope_recipient};
use crate::error::AppError;

/// A sender's "Envoyer": the multipart request read, checked, encrypted and sealed.
/// `origin` is the public origin the notification links point to. Returns the sealed
/// envelope; the caller wakes the mailer (notifications are queued).
/// `replies_only`: the sender may only answer or forward an envelope of its threads
/// (the webmail with `MEDIMAIL_WEBMAIL=recipients`).
#[allow(clippy::too_many_arguments)]
pub async fn send(
    stores: Stores<'_>,
    sender: &account::Model,
    client: Option<String>,
    multipart: &mut Multipart,
    notices: &Notices<'_>,
    replies_only: bool,
    idempotency_key: Option<&str>,
    limits: SendLimits,
    now: DateTime<Utc>,
) -> Result<EnvelopeSealed, AppError> {
    // 0. The same send again (its answer was lost): the envelope already sealed.
    if let Some(key) = idempotency_key
        && let Some(sealed) = already_sealed(stores.db, sender, key).await?
    {
        return Ok(sealed);
    }
    // 1. The draft, checked before any file is read.
    let draft = upload::read_draft(multipart, limits.upload_idle).await?;
    if replies_only {
        let thread = draft
            .in_reply_to
            .as_deref()
            .or(draft.forward.as_ref().map(|f| f.reference.as_str()));
        let Some(reference) = thread else {
            return Err(EnvelopeRefusal::ReplyOnly.into());
        };
        super::read::readable(stores.db, sender, reference, now).await?;
    }
    // « Répondre »: the envelope answered, kept when the sender may see it.
    let hints: Vec<super::threads::Hint> = draft
        .in_reply_to
        .iter()
        .map(|r| super::threads::Hint::Reference(r.clone()))
        .collect();
    let in_reply_to = super::threads::answered(stores.db, sender, &hints).await?;
    let recipients = rules::recipients(&draft.to, &draft.cc)?;
    // Over the sender's hourly quota: said before any file is read (and checked again
    // when sealing, where concurrent sends are serialised).
    super::quota::check(stores.db, &sender.id, recipients.count(), limits.quota, now).await?;
    let subject = rules::subject(&draft.subject)?;
    let body = rules::body(&draft.body_html)?;
    let window = rules::opening_window(
        parse_time(draft.opens_from.as_deref())?,
        parse_time(draft.opens_until.as_deref())?,
        now,
    )?;

    let forward = match &draft.forward {
        Some(f) if !f.attachments.is_empty() => {
            Some(forwarded_files(stores, sender, f, now).await?)
        }
        _ => None,
    };
    let (forward_count, forward_bytes) = forward.as_ref().map_or((0, 0), |(_, rows)| {
        (rows.len(), rows.iter().map(|r| r.size.max(0) as u64).sum())
    });

    // 2. The files, encrypted as they arrive; then the forwarded ones, re-encrypted
    // under this envelope's key (listed first, as in the original).
    let key = DataKey::generate();
    let uploaded = upload::receive_files(
        stores,
        multipart,
        &key,
        (forward_count, forward_bytes),
        limits.upload_idle,
    )
    .await?;
    let leased: Vec<String> = uploaded.iter().map(|f| f.id.clone()).collect();
    let outcome = seal_received(
        stores,
        sender,
        client,
        notices,
        idempotency_key,
        limits.quota,
        now,
        Received {
            key,
            uploaded,
            forward,
            recipients,
            subject,
            body,
            window,
            in_reply_to,
        },
    )
    .await;
    // Sealed (the attachments refer to the blobs) or refused (the blobs are gone): the
    // leases have done their work. Only an upload that lasted `RENEW` took any: a quick
    // send writes nothing more.
    if stores.clock.now() - now >= super::lease::RENEW
        && let Err(e) = super::lease::release(stores.db, &leased).await
    {
        tracing::warn!(error = %e, "could not release an upload's leases; they expire");
    }
    outcome
}

/// A message that arrived whole (the SMTP gateway, manual part 4), sealed by the same
/// rules and the same transaction as « Envoyer »: recipients, quota, title, sanitised
/// body, the default opening window, the files stored encrypted, then `seal`. Nothing
/// is kept when anything is refused.
#[allow(clippy::too_many_arguments)]
pub async fn send_message(
    stores: Stores<'_>,
    sender: &account::Model,
    client: Option<String>,
    message: Message,
    notices: &Notices<'_>,
    quota: super::quota::Quota,
    now: DateTime<Utc>,
) -> Result<EnvelopeSealed, AppError> {
    let recipients = rules::recipients(&message.to, &message.cc)?;
    super::quota::check(stores.db, &sender.id, recipients.count(), quota, now).await?;
    let subject = rules::subject(&message.subject)?;
    let body = rules::body(&message.body_html)?;
    let window = rules::opening_window(None, None, now)?;
    let in_reply_to = super::threads::answered(stores.db, sender, &message.answers).await?;
    let key = DataKey::generate();
    let uploaded = upload::store_files(stores.blobs, &key, message.files).await?;
    seal_received(
        stores,
        sender,
        client,
        notices,
        None,
        quota,
        now,
        Received {
            key,
            uploaded,
            forward: None,
            recipients,
            subject,
            body,
            window,
            in_reply_to,
        },
    )
    .await
}

/// What [`send_message`] seals: the recipients as typed (To, Cc), the title, the body
/// (HTML, sanitised here), the files.
pub struct Message {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body_html: String,
    pub files: Vec<upload::ReceivedFile>,
    /// What may name the envelope it answers (`threads`).
    pub answers: Vec<super::threads::Hint>,
}

/// What bounds one sender's « Envoyer »: the hourly quotas, and how long the upload may
/// stay silent (`MEDIMAIL_TRANSFER_IDLE_SECONDS`) before it is `upload_interrupted`.
#[derive(Clone, Copy, Debug)]
pub struct SendLimits {
    pub quota: super::quota::Quota,
    pub upload_idle: std::time::Duration,
}

/// What `send` received and checked, to seal.
struct Received {
    key: DataKey,
    uploaded: Vec<StoredFile>,
    forward: Option<(envelope::Model, Vec<attachment::Model>)>,
    recipients: rules::Recipients,
    subject: String,
    body: String,
    window: rules::OpeningWindow,
    /// The envelope answered (id).
    in_reply_to: Option<String>,
}

/// The end of `send`: the forwarded copies, the last checks, the sealing transaction.
#[allow(clippy::too_many_arguments)]
async fn seal_received(
    stores: Stores<'_>,
    sender: &account::Model,
    client: Option<String>,
    notices: &Notices<'_>,
    idempotency_key: Option<&str>,
    quota: super::quota::Quota,
    now: DateTime<Utc>,
    received: Received,
) -> Result<EnvelopeSealed, AppError> {
    let Received {
        key,
        uploaded,
        forward,
        recipients,
        subject,
        body,
        window,
        in_reply_to,
    } = received;
    let files = match &forward {
        Some((original, rows)) => {
            let copied = match super::at_rest::data_key(stores.keys, original) {
                Ok(original_key) => {
                    upload::copy_forwarded(stores.blobs, &original_key, rows, &key).await
                }
                Err(e) => Err(e),
            };
            match copied {
                Ok(mut copies) => {
                    copies.extend(uploaded);
                    copies
                }
                Err(e) => {
                    upload::delete_blobs(stores.blobs, &uploaded).await;
                    return Err(e);
                }
            }
        }
        None => uploaded,
    };

    // An envelope with nothing in it is refused (its blobs, if any, are none).
    if files.is_empty() && rules::is_blank(&body) {
        return Err(super::refusal::EnvelopeRefusal::BodyMissing.into());
    }

    // 3. One transaction seals it all; on failure the blobs go.
    let letter = Letter {
        recipients: &recipients,
        subject: &subject,
        body: &body,
        window,
        files: &files,
        idempotency_key,
        quota,
        in_reply_to: in_reply_to.as_deref(),
    };
    let sealed = seal(
        stores,
        sender,
        &key,
        &letter,
        notices,
        client.as_deref(),
        now,
    )
    .await;
    let (envelope, count) = match sealed {
        Ok(done) => done,
        Err(e) => {
            upload::delete_blobs(stores.blobs, &files).await;
            // The same send arrived twice at once and the other one sealed first (the
            // key is unique per sender): its envelope is this one's answer too.
            if let Some(key) = idempotency_key
                && let Some(sealed) = already_sealed(stores.db, sender, key).await?
            {
                return Ok(sealed);
            }
            return Err(e);
        }
    };
    Ok(EnvelopeSealed {
        reference: envelope.reference,
        sealed_at: envelope.sealed_at.to_rfc3339(),
        recipients: count,
        attachments: files.len(),
    })
}

/// What is sealed: checked recipients, title, sanitised body, opening window, stored files,
/// and the sender's idempotency key if it gave one.
pub struct Letter<'a> {
    pub recipients: &'a rules::Recipients,
    pub subject: &'a str,
    pub body: &'a str,
    pub window: rules::OpeningWindow,
    pub files: &'a [StoredFile],
    pub idempotency_key: Option<&'a str>,
    /// The sender's hourly limits, checked in the sealing transaction.
    pub quota: super::quota::Quota,
    /// The envelope it answers (id), already checked by `threads::answered`.
    pub in_reply_to: Option<&'a str>,
}

/// The envelope `sender` already sealed with `key`, as "Envoyer" answered it.
async fn already_sealed<C: ConnectionTrait>(
    db: &C,
    sender: &account::Model,
    key: &str,
) -> Result<Option<EnvelopeSealed>, AppError> {
    let Some(found) = envelope::Entity::find()
        .filter(envelope::Column::SenderAccountId.eq(&sender.id))
        .filter(envelope::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let recipients = envelope_recipient::Entity::find()
        .filter(envelope_recipient::Column::EnvelopeId.eq(&found.id))
        .count(db)
        .await?;
    Ok(Some(EnvelopeSealed {
        reference: found.reference,
        sealed_at: found.sealed_at.to_rfc3339(),
        recipients: recipients as usize,
        attachments: found.attachment_count.max(0) as usize,
    }))
}

/// An unguessable envelope reference: 192 random bits, base64url (32 characters).
pub fn new_reference() -> String {
    let mut bytes = [0u8; 24];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A date of "Conditions d'ouverture" (RFC 3339), if given.
fn parse_time(value: Option<&str>) -> Result<Option<DateTime<Utc>>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.to_utc()))
            .map_err(|_| EnvelopeRefusal::OpeningUnreadable.into()),
    }
}

/// "Transférer": the original envelope (which the caller must be able to read now) and
/// the attachments named, in order, checked against the limits.
async fn forwarded_files(
    stores: Stores<'_>,
    sender: &account::Model,
    forward: &ForwardedFiles,
    now: DateTime<Utc>,
) -> Result<(envelope::Model, Vec<attachment::Model>), AppError> {
    let (original, _) = super::read::readable(stores.db, sender, &forward.reference, now).await?;
    let rows = attachment::Entity::find()
        .filter(attachment::Column::EnvelopeId.eq(&original.id))
        .all(stores.db)
        .await?;
    let mut chosen: Vec<attachment::Model> = Vec::new();
    for id in &forward.attachments {
        let Some(row) = rows.iter().find(|a| &a.id == id) else {
            return Err(EnvelopeRefusal::ForwardAttachmentUnknown.into());
        };
        if !chosen.iter().any(|a| a.id == row.id) {
            chosen.push(row.clone());
        }
    }
    rules::attachment_count(chosen.len())?;
    let key = super::at_rest::data_key(stores.keys, &original)?;
    let mut total = 0;
    for row in &chosen {
        total += row.size.max(0) as u64;
        let name = super::at_rest::attachment_meta(&key, row)?.name;
        rules::attachment_size(&name, row.size.max(0) as u64, total)?;
    }
    Ok((original, chosen))
}

/// How each recipient is told: what every notification mail links to (the public
/// origin: the envelope, the report of a wrong recipient; the support page,
/// `MEDIMAIL_SUPPORT_URL`), and which recipients another MSSanté operator serves (they
/// receive the message itself from theirs, no notification).
pub struct Notices<'a> {
    pub origin: &'a str,
    /// The public origin's host: the domain of our `Message-ID`s (the SMTP greeting's and
    /// the deliveries' name too).
    pub host: &'a str,
    pub support: &'a str,
    pub operators: &'a super::operators::Operators,
}

/// One recipient's notification.
pub struct Notification<'a> {
    pub to: &'a str,
    /// The sender as the manual shows it: "NOM Prénom (MEDIMAIL)".
    pub sender: &'a str,
    pub subject: &'a str,
    pub reference: &'a str,
    /// The token of "Si vous n'êtes pas le bon destinataire… signalez-le".
    pub report: &'a str,
}

/// The sender as the notification names it (manual part 1 §2): "NOM Prénom (MEDIMAIL)";
/// the address when there is no name.
pub fn sender_label(name: Option<&str>, mailbox: &str) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("{} (MEDIMAIL)", crate::fr::family_first(name)),
        None => format!("{mailbox} (MEDIMAIL)"),
    }
}

/// The notification mail of one recipient (manual part 1 §2 and part 3 §2.1.1). Never
/// the body or the files: only who sent it, its title and the link.
pub fn notification_mail(n: &Notification<'_>, notices: &Notices<'_>) -> crate::mail::OutgoingMail {
    let Notification {
        to,
        sender,
        subject,
        reference,
        report,
    } = *n;
    let Notices {
        origin, support, ..
    } = *notices;
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
             {origin}/#/inbox/open/{reference}\r\n\
             \r\n\
             Cordialement,\r\n\
             Le service Medimail\r\n\
             \r\n\
             --\r\n\
             Ceci est un email automatique, merci de ne pas y répondre.\r\n\
             Medimail est une Messagerie Sécurisée de Santé compatible avec le système \
             MSSanté.\r\n\
             Si vous n'êtes pas le bon destinataire de ce Medimail, merci de le signaler sur \
             ce lien : {origin}/#/signaler/{report}\r\n\
             Pour obtenir plus d'informations et/ou du support technique : {support}\r\n"
        ),
        ..Default::default()
    }
}

/// Seals `letter` from `sender` under `key`, in one transaction with its audit event;
/// returns the envelope and how many recipients it has.
#[allow(clippy::too_many_arguments)]
pub async fn seal(
    stores: Stores<'_>,
    sender_account: &account::Model,
    key: &DataKey,
    letter: &Letter<'_>,
    notices: &Notices<'_>,
    client: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(envelope::Model, usize), AppError> {
    let Letter {
        recipients,
        subject,
        body,
        window,
        files,
        idempotency_key,
        quota,
        in_reply_to,
    } = *letter;
    let b64 = base64::engine::general_purpose::STANDARD;
    // Time-ordered (UUID v7, ordered within the process): envelopes sealed at the same
    // instant are listed newest first by their id (`folders::Key`).
    let id = uuid::Uuid::now_v7().to_string();
    let reference = new_reference();
    let sender = sender_account.mailbox.clone().unwrap_or_default();
    let sender_label = sender_label(sender_account.display_name.as_deref(), &sender);
    let shown =
        super::at_rest::seal_shown(key, &id, subject, sender_account.display_name.as_deref());
    let terms = super::at_rest::terms(
        stores.keys,
        subject,
        sender_account.display_name.as_deref(),
        &sender,
    );
    let txn = crate::db::begin_write(stores.db).await?;
    super::quota::lock_sender(&txn, &sender_account.id).await?;
    super::quota::check(&txn, &sender_account.id, recipients.count(), quota, now).await?;
    super::quota::use_stamp(&txn, &sender_account.id).await?;
    let envelope = envelope::ActiveModel {
        id: Set(id.clone()),
        reference: Set(reference.clone()),
        sender_account_id: Set(sender_account.id.clone()),
        sender_mailbox: Set(sender.clone()),
        // Title and sender name sealed at rest (`at_rest`); the clear columns stay blank.
        sender_name: Set(None),
        subject: Set(String::new()),
        subject_sealed: Set(Some(shown.subject)),
        sender_name_sealed: Set(shown.sender_name),
        body_sealed: Set(b64.encode(key.seal(&format!("{id}/body"), body.as_bytes()))),
        wrapped_key: Set(b64.encode(key.wrap(stores.keys, &id))),
        engine: Set(crate::crypto::ENGINE.to_owned()),
        sealed_at: Set(now),
        opens_from: Set(window.from),
        opens_until: Set(window.until),
        attachment_count: Set(files.len() as i32),
        sender_deleted_at: Set(None),
        sender_removed_at: Set(None),
        purged_at: Set(None),
        idempotency_key: Set(idempotency_key.map(str::to_owned)),
        in_reply_to_id: Set(in_reply_to.map(str::to_owned)),
        sender_folder_id: Set(None),
        terms_version: Set(super::at_rest::TERMS_VERSION),
    }
    .insert(&txn)
    .await?;
    super::at_rest::index(&txn, &id, &terms).await?;
    let mut count = 0;
    let mut arrived = Vec::new();
    for (kind, list) in [("to", &recipients.to), ("cc", &recipients.cc)] {
        for address in list.iter() {
            let account = crate::account::registry::for_recipient(&txn, address, now).await?;
            arrived.push(account.id.clone());
            let recipient_id = uuid::Uuid::new_v4().to_string();
            let position = count;
            count += 1;
            envelope_recipient::ActiveModel {
                id: Set(recipient_id.clone()),
                envelope_id: Set(id.clone()),
                account_id: Set(account.id.clone()),
                address: Set(address.clone()),
                kind: Set(kind.to_owned()),
                position: Set(position as i32),
                opened_at: Set(None),
                deleted_at: Set(None),
                removed_at: Set(None),
                sealed_at: Set(Some(now)),
                folder_id: Set(None),
            }
            .insert(&txn)
            .await?;
            if notices.operators.serves_elsewhere(address) {
                let delivery = super::operators::Delivery {
                    envelope_id: id.clone(),
                    recipient_id,
                    address: address.clone(),
                };
                let plain = serde_json::to_vec(&delivery)
                    .map_err(|e| AppError::Internal(format!("delivery: {e}")))?;
                crate::mail::enqueue_payload(
                    &txn,
                    stores.keys,
                    now,
                    super::operators::DELIVERY_PURPOSE,
                    Some(&account.id),
                    address,
                    &plain,
                )
                .await?;
                continue;
            }
            // « Notification de réception pour chaque message », unless switched off.
            if !crate::account::notifications::of(&txn, &account.id)
                .await?
                .received
            {
                continue;
            }
            // An envelope to an MSSanté address is announced at the account's mailbox.
            let notify = match (&account.mssante_address, &account.mailbox) {
                (Some(mssante), Some(mailbox)) if mssante == address => mailbox,
                _ => address,
            };
            let report = super::report::token(stores.keys, &recipient_id);
            let notification = Notification {
                to: notify,
                sender: &sender_label,
                subject,
                reference: &reference,
                report: &report,
            };
            let mut mail = notification_mail(&notification, notices);
            // A reply from a mail client goes to the sender and names this envelope.
            mail.message_id = Some(super::threads::notification_id(
                &reference,
                position,
                notices.host,
            ));
            mail.reply_to = Some(sender.clone());
            crate::account::delegation::enqueue_with_copies(
                &txn,
                stores.keys,
                now,
                "notification",
                &account.id,
                &mail,
            )
            .await?;
        }
    }
    // Each recipient has one more unopened envelope in « Messages reçus ».
    super::unread::arrivals(&txn, arrived).await?;
    for (position, file) in files.iter().enumerate() {
        attachment::ActiveModel {
            id: Set(file.id.clone()),
            envelope_id: Set(id.clone()),
            position: Set(position as i32),
            display_name: Set(String::new()),
            safe_name: Set(String::new()),
            content_type: Set(String::new()),
            size: Set(file.size as i64),
            blob_id: Set(file.id.clone()),
            meta_sealed: Set(Some(super::at_rest::seal_attachment(
                key,
                &id,
                &file.id,
                &super::at_rest::AttachmentMeta {
                    name: file.name.display.clone(),
                    safe_name: file.name.safe.clone(),
                    content_type: file.content_type.clone(),
                },
            ))),
        }
        .insert(&txn)
        .await?;
    }
    // « Notification de scellement », if the sender wants it: never the title.
    if crate::account::notifications::of(&txn, &sender_account.id)
        .await?
        .sealed
    {
        let mail = crate::mail::OutgoingMail {
            to: sender.clone(),
            subject: format!(
                "[MEDIMAIL : Scellement] Votre enveloppe du {} est scellée",
                crate::fr::date_time(now)
            ),
            text: format!(
                "Bonjour,\r\n\r\nVotre enveloppe Medimail du {} est scellée et remise à \
                 {count} destinataire(s).\r\n\r\nRetrouvez-la dans « Messages envoyés ».\r\n\r\n\
                 L'équipe Medimail\r\n",
                crate::fr::date_time(now)
            ),
            ..Default::default()
        };
        crate::account::delegation::enqueue_with_copies(
            &txn,
            stores.keys,
            now,
            "sealing_notification",
            &sender_account.id,
            &mail,
        )
        .await?;
    }
    envelope_event::ActiveModel {
        envelope_id: Set(id.clone()),
        kind: Set(EventKind::Sealed.as_str().to_owned()),
        account_id: Set(Some(sender_account.id.clone())),
        actor: Set(sender),
        occurred_at: Set(now),
        detail: Set("{}".to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::audit::append(
        &txn,
        stores.keys,
        &sender_account.label(),
        "envelope_sealed",
        serde_json::json!({
            "envelope": id,
            "recipients": count,
            "attachments": files.len(),
            "client": client,
        }),
    )
    .await?;
    txn.commit().await?;
    crate::metrics::envelope_sealed(files.iter().map(|f| f.size).sum());
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
    fn the_notification_is_the_manual_s_with_its_footer_and_links_the_reference_only() {
        let n = Notification {
            to: "a@b.fr",
            sender: &sender_label(Some("Mickaël POLLET"), "m.pollet@chu.fr"),
            subject: "Compte rendu M. BLANC",
            reference: "REF123",
            report: "TOKEN",
        };
        let notices = Notices {
            origin: "https://medimail.chu.fr",
            host: "medimail.chu.fr",
            support: "https://support.chu.fr/medimail",
            operators: &super::super::operators::Operators::none(),
        };
        let m = notification_mail(&n, &notices);
        assert_eq!(m.subject, "[MEDIMAIL : Reception] Compte rendu M. BLANC");
        assert!(m.text.contains("Expéditeur : POLLET Mickaël (MEDIMAIL)"));
        assert!(m.text.contains("Titre : Compte rendu M. BLANC"));
        assert!(
            m.text
                .contains("https://medimail.chu.fr/#/inbox/open/REF123")
        );
        assert!(m.text.contains("Le service Medimail"));
        assert!(
            m.text
                .contains("Ceci est un email automatique, merci de ne pas y répondre.")
        );
        assert!(m.text.contains("https://medimail.chu.fr/#/signaler/TOKEN"));
        assert!(
            m.text
                .contains("support technique : https://support.chu.fr/medimail")
        );
    }

    #[test]
    fn the_sender_is_named_family_name_first() {
        assert_eq!(
            sender_label(Some("Marie CURIE"), "x@y.fr"),
            "CURIE Marie (MEDIMAIL)"
        );
        assert_eq!(
            sender_label(Some("CURIE Marie"), "x@y.fr"),
            "CURIE Marie (MEDIMAIL)"
        );
        assert_eq!(
            sender_label(Some("Marie Curie"), "x@y.fr"),
            "Marie Curie (MEDIMAIL)"
        );
        assert_eq!(sender_label(None, "x@y.fr"), "x@y.fr (MEDIMAIL)");
    }
}
