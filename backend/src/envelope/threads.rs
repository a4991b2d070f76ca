//! Threads: which envelope a new one answers. « Répondre » names it by its reference; a
//! mail client's answer names it by the `Message-ID` it answers (`In-Reply-To`,
//! `References`: that of a notification, `<reference.n@host>`, or of the message handed
//! to another operator, `<envelope id@host>`) or by the link of the notification it
//! quotes. The link is kept only when the new envelope's sender may see the one it
//! answers (its sender or one of its recipients): a thread never shows an envelope to
//! anyone it was not for.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::account::entity::account;
use crate::envelope::entity::envelope;

/// What may name the envelope answered, most telling first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hint {
    /// An envelope reference (« Répondre », the link of a quoted notification).
    Reference(String),
    /// A `Message-ID` of a mail this one answers.
    MessageId(String),
}

/// The `Message-ID` of the notification of recipient `n` of envelope `reference`.
pub fn notification_id(reference: &str, n: usize, host: &str) -> String {
    format!("<{reference}.{n}@{host}>")
}

/// The `Message-ID` of the message handed to other operators for envelope `id`.
pub fn message_id(envelope_id: &str, host: &str) -> String {
    format!("<{envelope_id}@{host}>")
}

/// The envelope (id) `sender` answers, from `hints` in order; `None` when none names
/// an envelope `sender` may see.
pub async fn answered<C: ConnectionTrait>(
    db: &C,
    sender: &account::Model,
    hints: &[Hint],
) -> Result<Option<String>, sea_orm::DbErr> {
    for hint in hints.iter().take(20) {
        let reference = match hint {
            Hint::Reference(r) => Some(r.clone()),
            Hint::MessageId(id) => reference_of_message_id(db, id).await?,
        };
        let Some(reference) = reference else {
            continue;
        };
        match super::read::accessible(db, sender, &reference).await {
            Ok((envelope, _)) => return Ok(Some(envelope.id)),
            Err(crate::error::AppError::DatabaseUnavailable(e)) => return Err(e),
            Err(_) => continue,
        }
    }
    Ok(None)
}

/// The reference a `Message-ID` of ours names: `envelope id@host` or `reference.n@host`.
async fn reference_of_message_id<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<String>, sea_orm::DbErr> {
    let local = id
        .trim()
        .trim_start_matches('<')
        .split('@')
        .next()
        .unwrap_or("");
    if uuid::Uuid::parse_str(local).is_ok() && local.len() == 36 {
        return Ok(envelope::Entity::find_by_id(local)
            .filter(envelope::Column::PurgedAt.is_null())
            .one(db)
            .await?
            .map(|e| e.reference));
    }
    let reference = local.split('.').next().unwrap_or("");
    let plausible = (16..=64).contains(&reference.len())
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    Ok(plausible.then(|| reference.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_are_named_by_reference_and_position() {
        assert_eq!(
            notification_id("REF", 2, "medimail.chu.fr"),
            "<REF.2@medimail.chu.fr>"
        );
    }
}
