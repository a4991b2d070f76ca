//! The orphan-blob sweep: blobs no attachment row references (a send that failed after
//! writing them, or a crash mid-upload) are deleted once older than [`GRACE`], at start
//! and then every [`EVERY`]. The grace protects sends that just started, and the leases
//! (`envelope::lease`) those that go on longer, here or on another instance.

use std::collections::HashSet;
use std::time::Duration;

use sea_orm::{EntityTrait, QuerySelect};

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use crate::clock::Clock;
use crate::envelope::entity::attachment;
use crate::storage::BlobStore;

/// A blob younger than this may belong to a send in progress.
pub const GRACE: chrono::Duration = chrono::Duration::hours(1);
/// How often the sweep runs.
pub const EVERY: Duration = Duration::from_secs(600);

/// One sweep; returns how many blobs (and staging files) were removed.
pub async fn sweep_once<C: ConnectionTrait>(
    db: &C,
    blobs: &BlobStore,
    now: DateTime<Utc>,
) -> Result<usize, String> {
    let mut referenced: HashSet<String> = attachment::Entity::find()
        .select_only()
        .column(attachment::Column::BlobId)
        .into_tuple::<String>()
        .all(db)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    // The blobs of uploads in progress (leased), whatever their age.
    referenced.extend(
        crate::envelope::lease::held(db, now)
            .await
            .map_err(|e| e.to_string())?,
    );
    blobs
        .sweep(&referenced, now - GRACE)
        .await
        .map_err(|e| e.to_string())
}

/// Runs the sweep forever.
pub async fn run<C: ConnectionTrait>(db: C, blobs: BlobStore, clock: Clock) {
    loop {
        match sweep_once(&db, &blobs, clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "orphan blobs swept"),
            Err(e) => tracing::warn!(error = %e, "orphan blob sweep failed"),
        }
        tokio::time::sleep(EVERY).await;
    }
}
