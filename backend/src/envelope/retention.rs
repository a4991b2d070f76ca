//! Retention (manual part 1 §3: "ce message sera conservé pendant 3 mois sur le serveur
//! Medimail"): 3 months after sealing, an envelope's content is removed — its data key
//! and sealed body wiped (so any copy of its blobs left anywhere is unreadable), its
//! attachment rows deleted and its blobs deleted — while the envelope row, its events
//! and an audit record remain. Each envelope is claimed by a conditional update, so
//! several instances can run the job at once, and running it again changes nothing.

use std::time::Duration;

use chrono::Months;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::envelope::entity::{attachment, envelope, envelope_recipient};
use crate::storage::BlobStore;

/// How long content is kept.
pub use medimail_api::retention::KEPT_MONTHS;
/// How often the job runs (each run goes on until nothing is due).
pub const EVERY: Duration = Duration::from_secs(3600);
/// Envelopes handled per pass.
const BATCH: u64 = 100;

/// One pass over at most [`BATCH`] due envelopes; returns how many this instance purged.
pub async fn purge_once(
    db: &DatabaseConnection,
    keys: &crate::keys::Keys,
    blobs: &BlobStore,
    now: DateTime<Utc>,
) -> Result<usize, sea_orm::DbErr> {
    Ok(purge_batch(db, keys, blobs, now, BATCH).await?.1)
}

/// Passes of `batch` envelopes until nothing is due (whatever the volume, the 3 months
/// hold: 2,400 envelopes a day no longer outrun an hourly pass of 100); returns how many
/// this instance purged.
pub async fn purge_all_due(
    db: &DatabaseConnection,
    keys: &crate::keys::Keys,
    blobs: &BlobStore,
    now: DateTime<Utc>,
    batch: u64,
) -> Result<usize, sea_orm::DbErr> {
    let mut purged = 0;
    loop {
        let (found, done) = purge_batch(db, keys, blobs, now, batch).await?;
        purged += done;
        // A short batch saw everything due; a full one may have left more. Rows claimed
        // by another instance are purged too, so every pass makes progress.
        if found < batch as usize {
            return Ok(purged);
        }
    }
}

/// One batch: how many were due in it, and how many this instance purged.
async fn purge_batch(
    db: &DatabaseConnection,
    keys: &crate::keys::Keys,
    blobs: &BlobStore,
    now: DateTime<Utc>,
    batch: u64,
) -> Result<(usize, usize), sea_orm::DbErr> {
    let Some(cutoff) = now.checked_sub_months(Months::new(KEPT_MONTHS)) else {
        return Ok((0, 0));
    };
    let due: Vec<String> = envelope::Entity::find()
        .select_only()
        .column(envelope::Column::Id)
        .filter(envelope::Column::PurgedAt.is_null())
        .filter(envelope::Column::SealedAt.lte(cutoff))
        .limit(batch.max(1))
        .into_tuple()
        .all(db)
        .await?;
    let found = due.len();
    let mut purged = 0;
    for id in due {
        let txn = crate::db::begin_write(db).await?;
        // Its recipient rows, locked and read before the envelope is marked purged.
        let rows = sea_orm::Condition::all().add(envelope_recipient::Column::EnvelopeId.eq(&id));
        let counted = super::unread::Rows::lock(&txn, rows).await?;
        let claimed = envelope::Entity::update_many()
            .col_expr(envelope::Column::PurgedAt, Expr::value(Some(now)))
            .col_expr(envelope::Column::WrappedKey, Expr::value(""))
            .col_expr(envelope::Column::BodySealed, Expr::value(""))
            // What it keeps is the reference, the dates, the mailboxes and the events.
            .col_expr(envelope::Column::SubjectSealed, Expr::value(Some("")))
            .col_expr(
                envelope::Column::SenderNameSealed,
                Expr::value(Option::<String>::None),
            )
            .col_expr(envelope::Column::Subject, Expr::value(""))
            .col_expr(
                envelope::Column::SenderName,
                Expr::value(Option::<String>::None),
            )
            .filter(envelope::Column::Id.eq(&id))
            .filter(envelope::Column::PurgedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !claimed {
            txn.rollback().await?;
            continue;
        }
        // Its unopened rows leave the unread counts (the rows themselves stay).
        counted.settle(&txn).await?;
        let removed: Vec<String> = attachment::Entity::find()
            .select_only()
            .column(attachment::Column::BlobId)
            .filter(attachment::Column::EnvelopeId.eq(&id))
            .into_tuple()
            .all(&txn)
            .await?;
        attachment::Entity::delete_many()
            .filter(attachment::Column::EnvelopeId.eq(&id))
            .exec(&txn)
            .await?;
        super::at_rest::forget(&txn, &id).await?;
        crate::audit::append(
            &txn,
            keys,
            "system",
            "envelope_purged",
            serde_json::json!({"envelope": id, "attachments": removed.len()}),
        )
        .await?;
        txn.commit().await?;
        // Unreferenced now: if deleting one fails, the orphan sweep removes it later.
        for blob in &removed {
            if let Err(e) = blobs.delete(blob).await {
                tracing::warn!(%blob, error = %e, "retention: blob not deleted yet; the sweep will");
            }
        }
        purged += 1;
    }
    Ok((found, purged))
}

/// Runs the job forever.
pub async fn run(
    db: DatabaseConnection,
    keys: std::sync::Arc<crate::keys::Keys>,
    blobs: BlobStore,
    clock: Clock,
) {
    loop {
        let started = std::time::Instant::now();
        match purge_all_due(&db, &keys, &blobs, clock.now(), BATCH).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                purged = n,
                per_second = n as f64 / started.elapsed().as_secs_f64().max(0.001),
                "envelopes past their 3 months purged"
            ),
            Err(e) => tracing::warn!(error = %e, "retention job failed"),
        }
        tokio::time::sleep(EVERY).await;
    }
}
