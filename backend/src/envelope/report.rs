//! "Si vous n'êtes pas le bon destinataire de ce Medimail, merci de le signaler sur ce
//! lien" (the notification's footer): the link carries a token naming the recipient row
//! under a server MAC, so that only the person who got the mail can report it. The report
//! is an event of the envelope ("Signalement : mauvais destinataire"), an audit event
//! and a mail to the sender; it never opens the envelope. Once per recipient.

use chrono::{DateTime, Utc};
use medimail_api::{EventKind, WrongRecipientReported};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::entity::{envelope, envelope_event, envelope_recipient};
use crate::error::AppError;
use crate::keys::Keys;

/// The token of one recipient row: its id (32 hex digits) then 32 hex digits of MAC.
pub fn token(keys: &Keys, recipient_id: &str) -> String {
    let id = recipient_id.replace('-', "");
    let mac = keys.code_mac(format!("medimail-report:{id}").as_bytes());
    format!("{id}{}", &mac[..32])
}

/// The recipient row a token names, if its MAC holds.
fn recipient_of(keys: &Keys, token: &str) -> Option<String> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = &token[..32];
    let expected = self::token(keys, id);
    if !crate::keys::secrets_equal(&expected, &token.to_ascii_lowercase()) {
        return None;
    }
    Some(format!(
        "{}-{}-{}-{}-{}",
        &id[..8],
        &id[8..12],
        &id[12..16],
        &id[16..20],
        &id[20..32]
    ))
}

/// Records the report (once per recipient) and tells the sender. `None`: the token is not
/// one the server gave, or the envelope is gone.
pub async fn report(
    db: &DatabaseConnection,
    keys: &Keys,
    token: &str,
    client: Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<WrongRecipientReported>, AppError> {
    let Some(recipient_id) = recipient_of(keys, token.trim()) else {
        return Ok(None);
    };
    let Some(recipient) = envelope_recipient::Entity::find_by_id(&recipient_id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(envelope) = envelope::Entity::find_by_id(&recipient.envelope_id)
        .one(db)
        .await?
        .filter(|e| e.purged_at.is_none())
    else {
        return Ok(None);
    };
    let subject = super::at_rest::shown(keys, &envelope)?.subject;
    let kind = EventKind::Reported.as_str();
    let txn = crate::db::begin_write(db).await?;
    // Once per recipient, whatever arrives at once: an UPDATE of the recipient row takes
    // its lock (PostgreSQL; SQLite's write transaction is already exclusive), so the
    // check below and the insert are serialised.
    envelope_recipient::Entity::update_many()
        .col_expr(
            envelope_recipient::Column::Id,
            Expr::col(envelope_recipient::Column::Id),
        )
        .filter(envelope_recipient::Column::Id.eq(&recipient.id))
        .exec(&txn)
        .await?;
    let already = envelope_event::Entity::find()
        .filter(envelope_event::Column::EnvelopeId.eq(&envelope.id))
        .filter(envelope_event::Column::Kind.eq(kind))
        .filter(envelope_event::Column::Actor.eq(&recipient.address))
        .one(&txn)
        .await?
        .is_some();
    if already {
        txn.rollback().await?;
        return Ok(Some(WrongRecipientReported {
            subject,
            first: false,
        }));
    }
    envelope_event::ActiveModel {
        envelope_id: Set(envelope.id.clone()),
        kind: Set(kind.to_owned()),
        account_id: Set(Some(recipient.account_id.clone())),
        actor: Set(recipient.address.clone()),
        occurred_at: Set(now),
        detail: Set("{}".to_owned()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mail = crate::mail::OutgoingMail {
        to: envelope.sender_mailbox.clone(),
        // Never the title (health data leaving by plain mail): the date says which one.
        subject: format!(
            "[MEDIMAIL : Signalement] Votre enveloppe du {}",
            crate::fr::date_time(envelope.sealed_at)
        ),
        text: format!(
            "Bonjour,\r\n\r\n{} signale ne pas être le bon destinataire de votre enveloppe \
             Medimail envoyée le {}.\r\n\r\nVérifiez l'adresse de ce destinataire dans « Messages \
             envoyés » ; si l'enveloppe contenait des données de santé, prévenez votre \
             responsable de la sécurité.\r\n\r\nL'équipe Medimail\r\n",
            recipient.address,
            crate::fr::date_time(envelope.sealed_at),
        ),
        ..Default::default()
    };
    crate::mail::enqueue(
        &txn,
        keys,
        now,
        "wrong_recipient",
        Some(&envelope.sender_account_id),
        &mail,
    )
    .await?;
    crate::audit::append(
        &txn,
        keys,
        &recipient.address,
        "wrong_recipient_reported",
        serde_json::json!({"envelope": envelope.id, "recipient": recipient.id, "client": client}),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(WrongRecipientReported {
        subject,
        first: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_recipient_and_nothing_else() {
        let keys = Keys::random();
        let id = uuid::Uuid::new_v4().to_string();
        let t = token(&keys, &id);
        assert_eq!(t.len(), 64);
        assert_eq!(recipient_of(&keys, &t), Some(id.clone()));
        let mut forged = t.clone().into_bytes();
        forged[40] = if forged[40] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            recipient_of(&keys, &String::from_utf8(forged).expect("ascii")),
            None
        );
        assert_eq!(recipient_of(&Keys::random(), &t), None);
        assert_eq!(recipient_of(&keys, "abc"), None);
    }
}
