//! An import from start to end: a new snapshot in state `importing`, the reading passes
//! feeding the writer of the engine (SQLite or PostgreSQL), the prefix lists, then the
//! switch to `active` in one transaction and the old snapshot's rows dropped.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, Set,
};

use super::postgres::write_batch_postgres;
use super::reading::{
    ExtractionFile, ImportError, ImportReport, Progress, Row, Tops, plan, produce,
};
use super::sqlite::{SQLITE_TRANSACTION, sqlite_exec, sqlx_err, write_batch_sqlite};
use crate::directory::entity::{directory_entry, directory_key, directory_snapshot, directory_top};

/// Writes the prefix lists of a snapshot.
pub async fn write_tops(
    db: &DatabaseConnection,
    snapshot: i64,
    tops: Tops,
) -> Result<(), sea_orm::DbErr> {
    let rows: Vec<directory_top::ActiveModel> = tops
        .rows()
        .into_iter()
        .map(|(key, total, ranks)| directory_top::ActiveModel {
            snapshot_id: Set(snapshot),
            key: Set(key),
            total: Set(total as i64),
            ranks: Set(ranks),
        })
        .collect();
    let txn = crate::db::begin_write(db).await?;
    for chunk in rows.chunks(2_000) {
        directory_top::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    txn.commit().await
}

/// Removes the rows of snapshots in `states` for `source` (a failed or crashed import,
/// a retired snapshot).
pub async fn drop_snapshots(
    db: &DatabaseConnection,
    source: &str,
    states: &[&str],
) -> Result<(), sea_orm::DbErr> {
    let ids: Vec<i64> = directory_snapshot::Entity::find()
        .filter(directory_snapshot::Column::Source.eq(source))
        .filter(directory_snapshot::Column::State.is_in(states.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    for id in ids {
        directory_top::Entity::delete_many()
            .filter(directory_top::Column::SnapshotId.eq(id))
            .exec(db)
            .await?;
        directory_key::Entity::delete_many()
            .filter(directory_key::Column::SnapshotId.eq(id))
            .exec(db)
            .await?;
        directory_entry::Entity::delete_many()
            .filter(directory_entry::Column::SnapshotId.eq(id))
            .exec(db)
            .await?;
        directory_snapshot::Entity::delete_by_id(id)
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Imports `file` for `source` (`mssante` or `regional`); `progress` is called from the
/// reading thread and between batches.
pub async fn import_extraction(
    db: &DatabaseConnection,
    source: &str,
    file: ExtractionFile,
    now: DateTime<Utc>,
    progress: impl Fn(Progress) + Send + Sync + 'static,
) -> Result<ImportReport, ImportError> {
    let progress = Arc::new(progress);
    let first = {
        let file = file.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || file.read(|r| plan(r, &*progress)))
            .await
            .map_err(|e| ImportError::Read(std::io::Error::other(e.to_string())))??
    };
    // What a crashed import left behind.
    drop_snapshots(db, source, &["loading"]).await?;
    let snapshot = directory_snapshot::ActiveModel {
        source: Set(source.to_owned()),
        state: Set("loading".to_owned()),
        created_at: Set(now),
        rows: Set(0),
        rejected: Set(0),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let mut report = first.report;
    let total = report.imported;
    let result = fill(db, snapshot.id, file, first.ranks, total, &*progress).await;
    if let Err(e) = result {
        drop_snapshots(db, source, &["loading"]).await?;
        return Err(e);
    }
    report.snapshot_id = snapshot.id;
    // The switch: one transaction.
    let txn = crate::db::begin_write(db).await?;
    directory_snapshot::Entity::update_many()
        .col_expr(directory_snapshot::Column::State, Expr::value("retired"))
        .filter(directory_snapshot::Column::Source.eq(source))
        .filter(directory_snapshot::Column::State.eq("active"))
        .exec(&txn)
        .await?;
    directory_snapshot::Entity::update_many()
        .col_expr(directory_snapshot::Column::State, Expr::value("active"))
        .col_expr(
            directory_snapshot::Column::Rows,
            Expr::value(report.imported as i64),
        )
        .col_expr(
            directory_snapshot::Column::Rejected,
            Expr::value(report.rejected.len() as i64),
        )
        .filter(directory_snapshot::Column::Id.eq(snapshot.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    drop_snapshots(db, source, &["retired"]).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        // Statistics for the planner, and the visibility map that lets the key index be
        // read without visiting the table (rows written by COPY are not marked yet).
        db.execute_unprepared("VACUUM (ANALYZE) directory_entry, directory_key, directory_top")
            .await?;
    }
    Ok(report)
}

pub async fn fill(
    db: &DatabaseConnection,
    snapshot: i64,
    file: ExtractionFile,
    ranks: Vec<u32>,
    total: u64,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<(), ImportError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Row>>(2);
    let reading =
        tokio::task::spawn_blocking(move || file.read(|r| produce(r, &ranks, snapshot, &tx)));
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    // SQLite: one connection for the whole import, with a page cache large enough for the
    // name-key index (the default 2 MB makes every insert a cache miss).
    let mut sqlite = if postgres {
        None
    } else {
        let mut conn = db
            .get_sqlite_connection_pool()
            .acquire()
            .await
            .map_err(sqlx_err)?;
        // NORMAL is safe in WAL mode (a power cut may lose the last commits, never corrupt
        // the file) and spares an fsync per batch.
        for pragma in ["PRAGMA cache_size = -262144", "PRAGMA synchronous = NORMAL"] {
            sqlx::query(pragma)
                .execute(&mut *conn)
                .await
                .map_err(sqlx_err)?;
        }
        Some(conn)
    };
    let mut written = 0u64;
    let mut failed = None;
    let mut in_transaction = 0u64;
    while let Some(batch) = rx.recv().await {
        let n = batch.len() as u64;
        let result = match sqlite.as_mut() {
            Some(conn) => {
                // Several batches per transaction: each page of the key index is then
                // written to the WAL once per transaction rather than once per batch,
                // while the write lock is still released every second or two.
                let mut r = Ok(());
                if in_transaction == 0 {
                    r = sqlite_exec(conn, "BEGIN IMMEDIATE").await;
                }
                if r.is_ok() {
                    r = write_batch_sqlite(conn, snapshot, batch).await;
                }
                in_transaction += n;
                if r.is_ok() && in_transaction >= SQLITE_TRANSACTION {
                    in_transaction = 0;
                    r = sqlite_exec(conn, "COMMIT").await;
                }
                r
            }
            None => write_batch_postgres(db, snapshot, batch).await,
        };
        if let Err(e) = result {
            failed = Some(e);
            break;
        }
        written += n;
        progress(Progress::Writing { written, total });
    }
    if let Some(conn) = sqlite.as_mut()
        && in_transaction > 0
    {
        let end = if failed.is_none() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        if let Err(e) = sqlite_exec(conn, end).await {
            failed.get_or_insert(e);
        }
    }
    if let Some(mut conn) = sqlite {
        // Back to SQLite's default before the connection returns to the pool.
        for pragma in ["PRAGMA cache_size = -2000", "PRAGMA synchronous = FULL"] {
            let _ = sqlx::query(pragma).execute(&mut *conn).await;
        }
    }
    drop(rx);
    let read = reading
        .await
        .map_err(|e| ImportError::Read(std::io::Error::other(e.to_string())))?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let tops = read?;
    if written != total {
        return Err(ImportError::Changed(0));
    }
    write_tops(db, snapshot, tops).await?;
    Ok(())
}
