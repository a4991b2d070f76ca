//! Sending quotas (issue 15, item 3): at most `MEDIMAIL_SEND_ENVELOPES_PER_HOUR`
//! envelopes and `MEDIMAIL_SEND_RECIPIENTS_PER_HOUR` recipients per sender over the last
//! hour, so that one account cannot flood recipients (and the outbox) with notification
//! mails from the hospital's trusted sender. Checked twice: before the files are read
//! (a quick answer) and inside the sealing transaction, after locking the sender's row,
//! so that 100 sends at once cannot pass together.
//!
//! The stamps (« Activité », manual part 1 §6.4) are checked with them: an account with
//! stamps allocated sends no more envelopes than that, one stamp each, used in the
//! sealing transaction ([`use_stamp`]) under the same lock.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};

use super::refusal::EnvelopeRefusal;
use crate::account::entity::account;
use crate::envelope::entity::{envelope, envelope_recipient};
use crate::error::AppError;

/// The window the quotas count over.
pub const WINDOW: Duration = Duration::hours(1);

/// The limits, from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub envelopes_per_hour: u64,
    pub recipients_per_hour: u64,
}

impl Quota {
    /// The limits `MEDIMAIL_SEND_ENVELOPES_PER_HOUR` and
    /// `MEDIMAIL_SEND_RECIPIENTS_PER_HOUR` set.
    pub fn of(config: &crate::config::Config) -> Self {
        Self {
            envelopes_per_hour: config.send_envelopes_per_hour.max(1),
            recipients_per_hour: config.send_recipients_per_hour.max(1),
        }
    }
}

/// Refuses when sending one more envelope to `recipients` more addresses would pass a
/// limit; the refusal says when sending is possible again.
pub async fn check<C: ConnectionTrait>(
    db: &C,
    sender_id: &str,
    recipients: u64,
    quota: Quota,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    check_stamps(db, sender_id).await?;
    let since = now - WINDOW;
    let sent = sent_since(sender_id, since).count(db).await?;
    let reached = recipients_since(db, sender_id, since).await?;
    let envelopes_over = sent + 1 > quota.envelopes_per_hour;
    let recipients_over = reached + recipients > quota.recipients_per_hour;
    if !envelopes_over && !recipients_over {
        return Ok(());
    }
    // Sending is possible again when the oldest envelope of the window leaves it.
    let oldest: Option<DateTime<Utc>> = sent_since(sender_id, since)
        .select_only()
        .column(envelope::Column::SealedAt)
        .order_by_asc(envelope::Column::SealedAt)
        .into_tuple()
        .one(db)
        .await?;
    let until = oldest.unwrap_or(now) + WINDOW;
    Err(EnvelopeRefusal::QuotaExceeded {
        until,
        wait: (until - now).num_seconds().max(1) as u64,
        recipients: !envelopes_over,
        limit: if envelopes_over {
            quota.envelopes_per_hour
        } else {
            quota.recipients_per_hour
        },
    }
    .into())
}

/// Refuses when every stamp allocated to the sender is used.
async fn check_stamps<C: ConnectionTrait>(db: &C, sender_id: &str) -> Result<(), AppError> {
    let stamps: Option<(Option<i64>, i64)> = account::Entity::find_by_id(sender_id)
        .select_only()
        .column(account::Column::StampsAllocated)
        .column(account::Column::StampsUsed)
        .into_tuple()
        .one(db)
        .await?;
    match stamps {
        Some((Some(allocated), used)) if used >= allocated => {
            Err(EnvelopeRefusal::StampsExhausted {
                allocated: u64::try_from(allocated).unwrap_or(0),
            }
            .into())
        }
        _ => Ok(()),
    }
}

/// One stamp used by the envelope being sealed (in its transaction, the sender locked).
pub async fn use_stamp<C: ConnectionTrait>(db: &C, sender_id: &str) -> Result<(), AppError> {
    account::Entity::update_many()
        .col_expr(
            account::Column::StampsUsed,
            sea_orm::sea_query::ExprTrait::add(Expr::col(account::Column::StampsUsed), 1),
        )
        .filter(account::Column::Id.eq(sender_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Locks the sender's row until the transaction ends, so that the check and the sealing
/// of concurrent sends by the same sender happen one after the other.
pub async fn lock_sender<C: ConnectionTrait>(db: &C, sender_id: &str) -> Result<(), AppError> {
    account::Entity::update_many()
        .col_expr(account::Column::Id, Expr::col(account::Column::Id))
        .filter(account::Column::Id.eq(sender_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The envelopes `sender_id` sealed after `since`.
fn sent_since(sender_id: &str, since: DateTime<Utc>) -> sea_orm::Select<envelope::Entity> {
    envelope::Entity::find()
        .filter(envelope::Column::SenderAccountId.eq(sender_id))
        .filter(envelope::Column::SealedAt.gt(since))
}

/// Recipients of the envelopes `sender_id` sealed after `since`.
async fn recipients_since<C: ConnectionTrait>(
    db: &C,
    sender_id: &str,
    since: DateTime<Utc>,
) -> Result<u64, sea_orm::DbErr> {
    let sent = sent_since(sender_id, since)
        .select_only()
        .column(envelope::Column::Id)
        .into_query();
    envelope_recipient::Entity::find()
        .filter(envelope_recipient::Column::EnvelopeId.in_subquery(sent))
        .count(db)
        .await
}
