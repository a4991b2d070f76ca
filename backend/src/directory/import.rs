//! Importing the national extraction into a new snapshot, then switching to it in one
//! transaction: a search reads the old snapshot or the new one, never a mix. Lines are
//! read one at a time (the file is never held whole); a malformed line is reported with
//! its number and reason and skipped; a second occurrence of an address is skipped and
//! counted. A bad header stops everything before anything is written.

use std::collections::HashSet;
use std::io::BufRead;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

use super::extraction::{self, Entry, HeaderError};
use crate::entity::{directory_entry, directory_key, directory_snapshot};

/// Entries written per transaction.
const BATCH: usize = 1_000;
/// Entry ids are `snapshot id × ID_SPAN + line`, so keys can be written with their
/// entry in the same batch without reading ids back.
const ID_SPAN: i64 = 100_000_000;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("le fichier est vide")]
    Empty,
    #[error("lecture du fichier : {0}")]
    Read(#[from] std::io::Error),
    #[error("base de données : {0}")]
    Db(#[from] sea_orm::DbErr),
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub snapshot_id: i64,
    pub imported: u64,
    pub duplicates: u64,
    /// Line number (1 = the header) and reason, for each skipped line.
    pub rejected: Vec<(u64, String)>,
}

fn key_rows(snapshot: i64, entry_id: i64, entry: &Entry) -> Vec<directory_key::ActiveModel> {
    let mut keys: Vec<String> = Vec::new();
    for (prefix, name) in [("n:", &entry.last_name), ("p:", &entry.first_name)] {
        if let Some(name) = name {
            keys.extend(
                super::name_keys(name)
                    .into_iter()
                    .map(|k| format!("{prefix}{}", k.chars().take(190).collect::<String>())),
            );
        }
    }
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| directory_key::ActiveModel {
            snapshot_id: Set(snapshot),
            key: Set(key),
            entry_id: Set(entry_id),
        })
        .collect()
}

async fn write_batch(
    db: &DatabaseConnection,
    snapshot: i64,
    batch: &mut Vec<(i64, Entry)>,
) -> Result<(), sea_orm::DbErr> {
    if batch.is_empty() {
        return Ok(());
    }
    let txn = db.begin().await?;
    let mut keys = Vec::new();
    let rows: Vec<directory_entry::ActiveModel> = batch
        .drain(..)
        .map(|(id, e)| {
            keys.extend(key_rows(snapshot, id, &e));
            directory_entry::ActiveModel {
                id: Set(id),
                snapshot_id: Set(snapshot),
                kind: Set(e.kind.chars().take(8).collect()),
                address: Set(e.address),
                identifier: Set(e.identifier),
                civility: Set(e.civility),
                last_name: Set(e.last_name),
                first_name: Set(e.first_name),
                profession: Set(e.profession),
                speciality: Set(e.speciality),
                organisation: Set(e.organisation),
                address_lines: Set(e.address_lines),
                postal_code: Set(e.postal_code),
                department: Set(e.department),
            }
        })
        .collect();
    directory_entry::Entity::insert_many(rows)
        .exec(&txn)
        .await?;
    for chunk in keys.chunks(2_000) {
        directory_key::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await?;
    }
    txn.commit().await
}

/// Removes the rows of snapshots in `states` for `source` (a failed or crashed import,
/// a retired snapshot).
async fn drop_snapshots(
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

/// Imports an extraction file for `source`; `progress` is called with the number of
/// lines read, every batch.
pub async fn import_extraction<R: BufRead>(
    db: &DatabaseConnection,
    source: &str,
    mut reader: R,
    now: DateTime<Utc>,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Err(ImportError::Empty);
    }
    extraction::check_header(&String::from_utf8_lossy(&line))?;
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
    let result = fill(db, snapshot.id, &mut reader, &mut progress).await;
    let mut report = match result {
        Ok(report) => report,
        Err(e) => {
            drop_snapshots(db, source, &["loading"]).await?;
            return Err(e);
        }
    };
    report.snapshot_id = snapshot.id;
    // The switch: one transaction.
    let txn = db.begin().await?;
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
    Ok(report)
}

async fn fill<R: BufRead>(
    db: &DatabaseConnection,
    snapshot: i64,
    reader: &mut R,
    progress: &mut impl FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut batch: Vec<(i64, Entry)> = Vec::with_capacity(BATCH);
    let mut number: u64 = 1;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number += 1;
        let Ok(text) = std::str::from_utf8(&line) else {
            report
                .rejected
                .push((number, "texte qui n'est pas de l'UTF-8 valide".to_owned()));
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match extraction::parse_line(text) {
            Ok(entry) => {
                if !seen.insert(entry.address.clone()) {
                    report.duplicates += 1;
                    continue;
                }
                report.imported += 1;
                batch.push((snapshot * ID_SPAN + number as i64, entry));
                if batch.len() == BATCH {
                    write_batch(db, snapshot, &mut batch).await?;
                    progress(number);
                }
            }
            Err(e) => report.rejected.push((number, e.to_string())),
        }
    }
    write_batch(db, snapshot, &mut batch).await?;
    progress(number);
    Ok(report)
}

/// `medimail directory import --source mssante FILE`: imports with a progress line on
/// standard error (lines read, lines per second), then prints the counts and every
/// rejected line with its number and reason.
pub async fn run(
    config: &crate::config::Config,
    source: crate::config::DirectorySource,
    file: &std::path::Path,
) -> Result<(), crate::startup::StartupError> {
    use crate::startup::StartupError;
    use std::io::Write;
    let source = match source {
        crate::config::DirectorySource::Mssante => "mssante",
    };
    let opened = std::fs::File::open(file).map_err(|e| StartupError::Io {
        what: "read the directory file",
        path: file.to_path_buf(),
        source: e,
    })?;
    let total = opened.metadata().map(|m| m.len()).unwrap_or(0);
    let db = crate::db::connect_and_migrate(&config.database_url()).await?;
    let started = std::time::Instant::now();
    let reader = std::io::BufReader::with_capacity(1024 * 1024, opened);
    let report = import_extraction(&db, source, reader, Utc::now(), |lines| {
        let seconds = started.elapsed().as_secs_f64().max(0.001);
        eprint!(
            "\r  {lines} lignes lues — {:.0} lignes/s — {:.1} s",
            lines as f64 / seconds,
            seconds
        );
        let _ = std::io::stderr().flush();
    })
    .await
    .map_err(|e| StartupError::Config(format!("import refused: {e}")))?;
    eprintln!();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{source}: {} entrées importées, {} doublons ignorés, {} lignes rejetées, en {:.1} s ({:.0} lignes/s ; fichier de {} octets)",
        report.imported,
        report.duplicates,
        report.rejected.len(),
        seconds,
        (report.imported + report.duplicates + report.rejected.len() as u64) as f64
            / seconds.max(0.001),
        total
    );
    for (line, reason) in report.rejected.iter().take(1000) {
        println!("  ligne {line} : {reason}");
    }
    if report.rejected.len() > 1000 {
        println!("  … et {} autres", report.rejected.len() - 1000);
    }
    Ok(())
}
