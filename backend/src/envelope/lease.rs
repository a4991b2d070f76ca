//! Leases that keep the blobs of an upload in progress from the orphan sweep (issue 15,
//! item 8). An upload that has lasted [`RENEW`] takes one per blob (younger blobs are
//! within the sweep's grace), renews them all every [`RENEW`] while bytes keep arriving,
//! and releases them once the envelope is sealed or refused. An
//! upload cut by a crash leaves leases that expire, and the sweep then takes its blobs.
//! In the database, so that the sweep of any instance sees the uploads of all.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::envelope::entity::blob_lease;

/// How long a lease holds without renewal.
pub const LEASE: Duration = Duration::hours(1);
/// How often an upload that goes on renews its leases.
pub const RENEW: Duration = Duration::minutes(10);

/// Takes (or renews) the leases on `ids` until `now + LEASE`.
pub async fn hold<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    blob_lease::Entity::insert_many(ids.iter().map(|id| blob_lease::ActiveModel {
        blob_id: Set(id.clone()),
        until: Set(now + LEASE),
    }))
    .on_conflict(
        OnConflict::column(blob_lease::Column::BlobId)
            .update_column(blob_lease::Column::Until)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

/// Releases the leases on `ids`.
pub async fn release<C: ConnectionTrait>(db: &C, ids: &[String]) -> Result<(), sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    blob_lease::Entity::delete_many()
        .filter(blob_lease::Column::BlobId.is_in(ids.iter().map(String::as_str)))
        .exec(db)
        .await?;
    Ok(())
}

/// The blobs leased at `now`; expired leases are removed.
pub async fn held<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
) -> Result<HashSet<String>, sea_orm::DbErr> {
    blob_lease::Entity::delete_many()
        .filter(blob_lease::Column::Until.lte(now))
        .exec(db)
        .await?;
    let ids: Vec<String> = blob_lease::Entity::find()
        .select_only()
        .column(blob_lease::Column::BlobId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().collect())
}
