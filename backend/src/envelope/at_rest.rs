//! Health data sealed at rest (issue 15, item 5). Beside the body and the files, an
//! envelope's title, its sender's name and each attachment's name and type are sealed
//! under the envelope's own data key (AES-256-GCM, bound to their place): a copy of the
//! database shows none of them. What stays in clear is what routes and keeps the trace:
//! the reference, the dates, the mailboxes, the sizes and the events.
//!
//! Searching a folder by title or sender cannot read a sealed column, so each envelope
//! keeps a set of keyed tags (`envelope_term`): HMAC-SHA256 under a key derived from the
//! master key (label `medimail/envelope-search/v1`), cut to 64 bits, of every 3-character
//! sequence of its title and sender name, normalised (lower case, no accents, punctuation
//! as spaces). A search takes the envelopes carrying the rarest tags of what was typed
//! (`folders::tagged`: up to three rare ones intersected, else the rarest common one),
//! then opens them and keeps those whose title, sender name or mailbox really contains
//! it: the answer is the same as a search in clear. What the tags leak to whoever holds the
//! database without the master key: which envelopes share a 3-character sequence (not
//! which one), and roughly how long a title is; common sequences could be guessed by
//! their frequency across many envelopes. A query shorter than 3 characters has no tag:
//! the newest envelopes of the folder are opened and checked instead.
//!
//! The sender's mailbox, in clear in its column, is tagged too (issue 18: a search by one
//! word then needs no scan of the folder's mailboxes), under its own domain: a mailbox's
//! tag is that of `@` and the sequence, never equal to a title's tag. Whoever holds the
//! database could work out which sequence each mailbox tag stands for (the mailboxes are
//! there to compare with); that tells them nothing of the titles. The envelopes tagged
//! before are tagged at start in the background ([`tag_mailboxes`]); until that is
//! finished on the database, the folder's mailboxes are scanned as before.
//!
//! Rows written before these columns existed are sealed when the server starts
//! ([`seal_legacy`]), their clear columns blanked; the purge blanks the sealed ones.

use std::collections::BTreeSet;

use base64::Engine;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};

use crate::crypto::DataKey;
use crate::entity::maintenance;
use crate::envelope::entity::{attachment, envelope, envelope_term};
use crate::error::AppError;
use crate::keys::Keys;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Characters of a search term.
const GRAM: usize = 3;
/// Tags looked up for one query at most (any of them narrows the candidates; the check
/// on the opened envelopes keeps the answer exact).
const QUERY_TERMS: usize = 24;

/// The data key of `envelope`, unwrapped with the server keys.
pub fn data_key(keys: &Keys, envelope: &envelope::Model) -> Result<DataKey, AppError> {
    let wrapped = base64::engine::general_purpose::STANDARD
        .decode(&envelope.wrapped_key)
        .map_err(|e| AppError::Internal(format!("wrapped key: {e}")))?;
    DataKey::unwrap(keys, &envelope.id, &wrapped)
        .map_err(|e| AppError::Internal(format!("envelope {}: {e}", envelope.id)))
}

fn seal_text(key: &DataKey, context: &str, text: &str) -> String {
    B64.encode(key.seal(context, text.as_bytes()))
}

fn open_text(key: &DataKey, context: &str, sealed: &str) -> Result<String, AppError> {
    let bytes = B64
        .decode(sealed)
        .map_err(|e| AppError::Internal(format!("{context}: {e}")))?;
    let plain = key
        .open(context, &bytes)
        .map_err(|e| AppError::Internal(format!("{context}: {e}")))?;
    String::from_utf8(plain).map_err(|e| AppError::Internal(format!("{context}: {e}")))
}

fn subject_context(envelope_id: &str) -> String {
    format!("{envelope_id}/subject")
}

fn sender_name_context(envelope_id: &str) -> String {
    format!("{envelope_id}/sender_name")
}

fn attachment_context(envelope_id: &str, attachment_id: &str) -> String {
    format!("{envelope_id}/attachment/{attachment_id}")
}

/// The title and sender name of a new envelope, sealed for its columns.
pub struct SealedShown {
    pub subject: String,
    pub sender_name: Option<String>,
}

pub fn seal_shown(
    key: &DataKey,
    envelope_id: &str,
    subject: &str,
    sender_name: Option<&str>,
) -> SealedShown {
    SealedShown {
        subject: seal_text(key, &subject_context(envelope_id), subject),
        sender_name: sender_name.map(|n| seal_text(key, &sender_name_context(envelope_id), n)),
    }
}

/// What lists and readings show of an envelope, opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    pub subject: String,
    pub sender_name: Option<String>,
}

/// The title and sender name of `envelope`, opened with its key (unwrapped here). A
/// purged envelope shows nothing; a row from before the sealed columns, its clear ones.
pub fn shown(keys: &Keys, envelope: &envelope::Model) -> Result<Shown, AppError> {
    match envelope.subject_sealed.as_deref() {
        Some(sealed) if !sealed.is_empty() => shown_with(&data_key(keys, envelope)?, envelope),
        _ => shown_with_nothing_sealed(envelope),
    }
}

/// As [`shown`], with the key already unwrapped.
pub fn shown_with(key: &DataKey, envelope: &envelope::Model) -> Result<Shown, AppError> {
    let Some(sealed) = envelope.subject_sealed.as_deref().filter(|s| !s.is_empty()) else {
        return shown_with_nothing_sealed(envelope);
    };
    Ok(Shown {
        subject: open_text(key, &subject_context(&envelope.id), sealed)?,
        sender_name: envelope
            .sender_name_sealed
            .as_deref()
            .map(|n| open_text(key, &sender_name_context(&envelope.id), n))
            .transpose()?,
    })
}

fn shown_with_nothing_sealed(envelope: &envelope::Model) -> Result<Shown, AppError> {
    Ok(if envelope.purged_at.is_some() {
        Shown::default()
    } else {
        Shown {
            subject: envelope.subject.clone(),
            sender_name: envelope.sender_name.clone(),
        }
    })
}

/// An attachment's name as sent, its safe name and the type the sender's browser gave,
/// sealed together in `attachment.meta_sealed`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "s")]
    pub safe_name: String,
    #[serde(rename = "t")]
    pub content_type: String,
}

pub fn seal_attachment(
    key: &DataKey,
    envelope_id: &str,
    attachment_id: &str,
    meta: &AttachmentMeta,
) -> String {
    let json = serde_json::to_string(meta).expect("three strings serialise");
    seal_text(key, &attachment_context(envelope_id, attachment_id), &json)
}

/// The name, safe name and type of `row`, opened (a row from before: its clear columns).
pub fn attachment_meta(key: &DataKey, row: &attachment::Model) -> Result<AttachmentMeta, AppError> {
    let Some(sealed) = row.meta_sealed.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(AttachmentMeta {
            name: row.display_name.clone(),
            safe_name: row.safe_name.clone(),
            content_type: row.content_type.clone(),
        });
    };
    let context = attachment_context(&row.envelope_id, &row.id);
    serde_json::from_str(&open_text(key, &context, sealed)?)
        .map_err(|e| AppError::Internal(format!("{context}: {e}")))
}

/// The 3-character sequences of `text`, normalised.
fn grams(text: &str, into: &mut BTreeSet<String>) {
    let chars: Vec<char> = crate::directory::keys::normalize(text).chars().collect();
    for window in chars.windows(GRAM) {
        into.insert(window.iter().collect());
    }
}

/// The tags an envelope written now has (`envelope.terms_version`): its title's, its
/// sender name's and its sender mailbox's.
pub const TERMS_VERSION: i16 = 1;

/// The tag of a mailbox's sequence: in a domain of its own (`@` and the sequence, which
/// no title's 3-character sequence can equal).
fn mailbox_term(keys: &Keys, gram: &str) -> i64 {
    keys.search_term(&format!("@{gram}"))
}

/// The tags an envelope is found by: those of its title and its sender's name, and its
/// sender mailbox's (in their own domain).
pub fn terms(keys: &Keys, subject: &str, sender_name: Option<&str>, mailbox: &str) -> Vec<i64> {
    let mut all = BTreeSet::new();
    grams(subject, &mut all);
    if let Some(name) = sender_name {
        grams(name, &mut all);
    }
    let mut tags: BTreeSet<i64> = all.iter().map(|g| keys.search_term(g)).collect();
    tags.extend(mailbox_terms(keys, mailbox));
    tags.into_iter().collect()
}

/// The tags of a sender's mailbox.
fn mailbox_terms(keys: &Keys, mailbox: &str) -> BTreeSet<i64> {
    let mut all = BTreeSet::new();
    grams(mailbox, &mut all);
    all.iter().map(|g| mailbox_term(keys, g)).collect()
}

/// The tags a query needs (every one of them), or `None` when it is shorter than 3
/// characters once normalised.
pub fn query_terms(keys: &Keys, q: &str) -> Option<Vec<i64>> {
    query_tags(q, |g| keys.search_term(g))
}

/// The tags (by `tag`) of the sequences of `q`, at most [`QUERY_TERMS`], or `None` when
/// it has none.
fn query_tags(q: &str, tag: impl Fn(&str) -> i64) -> Option<Vec<i64>> {
    let mut all = BTreeSet::new();
    grams(q, &mut all);
    if all.is_empty() {
        return None;
    }
    let tags: BTreeSet<i64> = all.iter().map(|g| tag(g)).collect();
    Some(tags.into_iter().take(QUERY_TERMS).collect())
}

/// The mailbox tags a query needs to be found in a sender's mailbox (every one of them),
/// or `None` when it cannot be (a space) or is shorter than 3 characters once normalised.
/// A mailbox in lower case containing the query contains its normalised sequences.
pub fn mailbox_query_terms(keys: &Keys, q: &str) -> Option<Vec<i64>> {
    if q.chars().any(char::is_whitespace) {
        return None;
    }
    query_tags(q, |g| mailbox_term(keys, g))
}

/// Does the envelope really match `q` (the check after the tags)? Title and sender name
/// normalised, the mailbox in lower case, as before they were sealed.
pub fn matches(q: &str, shown: &Shown, mailbox: &str) -> bool {
    let lower = q.to_lowercase();
    if mailbox.to_lowercase().contains(&lower) {
        return true;
    }
    let normalized = crate::directory::keys::normalize(q);
    !normalized.is_empty()
        && (crate::directory::keys::normalize(&shown.subject).contains(&normalized)
            || shown
                .sender_name
                .as_deref()
                .is_some_and(|n| crate::directory::keys::normalize(n).contains(&normalized)))
}

/// Writes the tags of a new envelope (in its sealing transaction).
pub async fn index<C: ConnectionTrait>(
    db: &C,
    envelope_id: &str,
    terms: &[i64],
) -> Result<(), sea_orm::DbErr> {
    // A few hundred rows at most (255 characters of title): in chunks well under any
    // database's parameter limit.
    for chunk in terms.chunks(500) {
        envelope_term::Entity::insert_many(chunk.iter().map(|&term| envelope_term::ActiveModel {
            term: sea_orm::Set(term),
            envelope_id: sea_orm::Set(envelope_id.to_owned()),
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Removes an envelope's tags (the purge).
pub async fn forget<C: ConnectionTrait>(db: &C, envelope_id: &str) -> Result<(), sea_orm::DbErr> {
    envelope_term::Entity::delete_many()
        .filter(envelope_term::Column::EnvelopeId.eq(envelope_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Envelopes sealed per pass of [`seal_legacy`].
const LEGACY_BATCH: u64 = 200;

/// Seals the rows written before the sealed columns existed: each envelope's title and
/// sender name, its attachments' names and types, and its search tags, in one
/// transaction per envelope that blanks the clear columns. Safe to run on several
/// instances at once (an envelope is claimed by the update that seals it). Returns how
/// many envelopes this call sealed.
pub async fn seal_legacy(db: &DatabaseConnection, keys: &Keys) -> Result<usize, AppError> {
    let mut sealed = 0;
    let mut after = String::new();
    loop {
        let batch = envelope::Entity::find()
            .filter(envelope::Column::SubjectSealed.is_null())
            .filter(envelope::Column::Id.gt(after.clone()))
            .order_by_asc(envelope::Column::Id)
            .limit(LEGACY_BATCH)
            .all(db)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(sealed);
        };
        after = last.id.clone();
        for row in batch {
            match seal_one_legacy(db, keys, &row).await {
                Ok(true) => sealed += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(envelope = %row.id, error = %e, "an envelope from before could not be sealed at rest; left as it is");
                }
            }
        }
    }
}

async fn seal_one_legacy(
    db: &DatabaseConnection,
    keys: &Keys,
    row: &envelope::Model,
) -> Result<bool, AppError> {
    let txn = crate::db::begin_write(db).await?;
    // Purged: nothing to seal, only the clear columns to blank.
    let (subject_sealed, sender_name_sealed, key) = if row.purged_at.is_some() {
        (String::new(), None, None)
    } else {
        let key = data_key(keys, row)?;
        let sealed = seal_shown(&key, &row.id, &row.subject, row.sender_name.as_deref());
        (sealed.subject, sealed.sender_name, Some(key))
    };
    let claimed = envelope::Entity::update_many()
        .col_expr(
            envelope::Column::SubjectSealed,
            Expr::value(Some(subject_sealed)),
        )
        .col_expr(
            envelope::Column::SenderNameSealed,
            Expr::value(sender_name_sealed),
        )
        .col_expr(envelope::Column::Subject, Expr::value(""))
        .col_expr(envelope::Column::TermsVersion, Expr::value(TERMS_VERSION))
        .col_expr(
            envelope::Column::SenderName,
            Expr::value(Option::<String>::None),
        )
        .filter(envelope::Column::Id.eq(&row.id))
        .filter(envelope::Column::SubjectSealed.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !claimed {
        txn.rollback().await?;
        return Ok(false);
    }
    if key.is_none() {
        // Purged: its attachments are gone already; whatever is left is blanked.
        attachment::Entity::update_many()
            .col_expr(attachment::Column::DisplayName, Expr::value(""))
            .col_expr(attachment::Column::SafeName, Expr::value(""))
            .col_expr(attachment::Column::ContentType, Expr::value(""))
            .filter(attachment::Column::EnvelopeId.eq(&row.id))
            .exec(&txn)
            .await?;
    }
    if let Some(key) = key {
        let files = attachment::Entity::find()
            .filter(attachment::Column::EnvelopeId.eq(&row.id))
            .filter(attachment::Column::MetaSealed.is_null())
            .all(&txn)
            .await?;
        for file in files {
            let meta = AttachmentMeta {
                name: file.display_name.clone(),
                safe_name: file.safe_name.clone(),
                content_type: file.content_type.clone(),
            };
            attachment::Entity::update_many()
                .col_expr(
                    attachment::Column::MetaSealed,
                    Expr::value(Some(seal_attachment(&key, &row.id, &file.id, &meta))),
                )
                .col_expr(attachment::Column::DisplayName, Expr::value(""))
                .col_expr(attachment::Column::SafeName, Expr::value(""))
                .col_expr(attachment::Column::ContentType, Expr::value(""))
                .filter(attachment::Column::Id.eq(&file.id))
                .exec(&txn)
                .await?;
        }
        forget(&txn, &row.id).await?;
        index(
            &txn,
            &row.id,
            &terms(
                keys,
                &row.subject,
                row.sender_name.as_deref(),
                &row.sender_mailbox,
            ),
        )
        .await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// The name of [`tag_mailboxes`]'s task in `maintenance`, once finished.
const MAILBOXES_TAGGED: &str = "envelope_mailbox_terms";

/// Envelopes tagged per transaction of [`tag_mailboxes`].
const TAGGING_BATCH: u64 = 200;

/// True once every envelope of the database has its sender mailbox's tags: a search then
/// needs no scan of the mailboxes (`folders`). Never false again: an envelope written
/// now is tagged in its sealing transaction.
pub async fn mailboxes_tagged<C: ConnectionTrait>(db: &C) -> Result<bool, sea_orm::DbErr> {
    Ok(maintenance::Entity::find_by_id(MAILBOXES_TAGGED)
        .one(db)
        .await?
        .is_some())
}

/// Tags the sender mailboxes of the envelopes written before they were (their
/// `terms_version` 0), [`TAGGING_BATCH`] per transaction, then writes in `maintenance`
/// that it is done. Safe to run on several instances at once: an envelope is claimed by
/// the update that marks it, and its tags added only by the claim that won. Run at
/// start in the background; returns how many envelopes this call tagged.
pub async fn tag_mailboxes(
    db: &DatabaseConnection,
    keys: &Keys,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, sea_orm::DbErr> {
    if mailboxes_tagged(db).await? {
        return Ok(0);
    }
    let mut tagged = 0;
    let mut after = String::new();
    loop {
        let batch: Vec<(String, String, Option<chrono::DateTime<chrono::Utc>>)> =
            envelope::Entity::find()
                .select_only()
                .column(envelope::Column::Id)
                .column(envelope::Column::SenderMailbox)
                .column(envelope::Column::PurgedAt)
                .filter(envelope::Column::TermsVersion.lt(TERMS_VERSION))
                .filter(envelope::Column::Id.gt(after.clone()))
                .order_by_asc(envelope::Column::Id)
                .limit(TAGGING_BATCH)
                .into_tuple()
                .all(db)
                .await?;
        let Some((last, _, _)) = batch.last() else {
            break;
        };
        after = last.clone();
        let txn = crate::db::begin_write(db).await?;
        for (id, mailbox, purged_at) in batch {
            let claimed = envelope::Entity::update_many()
                .col_expr(envelope::Column::TermsVersion, Expr::value(TERMS_VERSION))
                .filter(envelope::Column::Id.eq(&id))
                .filter(envelope::Column::TermsVersion.lt(TERMS_VERSION))
                .exec(&txn)
                .await?
                .rows_affected
                == 1;
            // A purged envelope has no tags left and is never searched.
            if !claimed || purged_at.is_some() {
                continue;
            }
            let terms: Vec<i64> = mailbox_terms(keys, &mailbox).into_iter().collect();
            index(&txn, &id, &terms).await?;
            tagged += 1;
        }
        txn.commit().await?;
    }
    maintenance::Entity::insert(maintenance::ActiveModel {
        task: sea_orm::Set(MAILBOXES_TAGGED.to_owned()),
        done_at: sea_orm::Set(now),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(maintenance::Column::Task)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(tagged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_needs_the_tags_of_its_sequences_and_short_ones_have_none() {
        let keys = Keys::random();
        let envelope = terms(
            &keys,
            "Compte rendu M. BLANC",
            Some("Pierre DUPOND"),
            "secretariat.cardio@chu-exemple.fr",
        );
        let q = query_terms(&keys, "Blanc").expect("5 characters");
        assert!(q.iter().all(|t| envelope.contains(t)));
        let q = query_terms(&keys, "réndu").expect("accents folded");
        assert!(q.iter().all(|t| envelope.contains(t)));
        let q = query_terms(&keys, "dupond").expect("sender name");
        assert!(q.iter().all(|t| envelope.contains(t)));
        let q = query_terms(&keys, "Durand").expect("absent");
        assert!(!q.iter().all(|t| envelope.contains(t)));
        assert_eq!(query_terms(&keys, "M."), None);
        // The mailbox's tags, in their own domain: found by a part of the address, with
        // its punctuation, but never by the title's tags (nor the title by its own).
        let q = mailbox_query_terms(&keys, "Cardio@CHU").expect("mailbox");
        assert!(q.iter().all(|t| envelope.contains(t)));
        let q = mailbox_query_terms(&keys, "blanc").expect("tags");
        assert!(!q.iter().all(|t| envelope.contains(t)));
        let q = query_terms(&keys, "cardio").expect("tags");
        assert!(!q.iter().all(|t| envelope.contains(t)));
        assert_eq!(mailbox_query_terms(&keys, "rendu blanc"), None);
        assert_eq!(mailbox_query_terms(&keys, "@c"), None);
        // Another key, other tags: nothing to compare across installations.
        assert!(
            query_terms(&Keys::random(), "Blanc")
                .expect("tags")
                .iter()
                .all(|t| !envelope.contains(t))
        );
    }

    #[test]
    fn sealed_fields_open_only_in_their_place() {
        let key = DataKey::generate();
        let sealed = seal_shown(&key, "e1", "Compte rendu", Some("Pierre DUPOND"));
        assert!(!sealed.subject.contains("Compte"));
        assert_eq!(
            open_text(&key, &subject_context("e1"), &sealed.subject).expect("opens"),
            "Compte rendu"
        );
        assert!(open_text(&key, &subject_context("e2"), &sealed.subject).is_err());
        assert!(open_text(&key, &sender_name_context("e1"), &sealed.subject).is_err());
        let meta = AttachmentMeta {
            name: "CR.pdf".into(),
            safe_name: "CR.pdf".into(),
            content_type: "application/pdf".into(),
        };
        let s = seal_attachment(&key, "e1", "a1", &meta);
        assert!(open_text(&key, &attachment_context("e1", "a2"), &s).is_err());
    }

    #[test]
    fn matches_is_the_search_in_clear() {
        let shown = Shown {
            subject: "Compte rendu M. BLANC".into(),
            sender_name: Some("Pierre DUPOND".into()),
        };
        assert!(matches("blanc", &shown, "p.dupond@x.mssante.fr"));
        assert!(matches("m. bl", &shown, "p.dupond@x.mssante.fr"));
        assert!(matches("p.dupond@", &shown, "p.dupond@x.mssante.fr"));
        assert!(matches("Dupond", &shown, "other@x.fr"));
        assert!(!matches("durand", &shown, "p.dupond@x.mssante.fr"));
        assert!(!matches("@@", &shown, "p.dupond.x.fr"));
    }
}
