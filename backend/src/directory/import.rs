//! Importing an extraction file ("Extraction_Correspondance_MSSante", as `.txt` or as the
//! published `.zip`) into a new snapshot, then switching to it in one transaction: a
//! search reads the old snapshot or the new one, never a mix.
//!
//! Two passes over the file, each streaming (the file is never held whole):
//! 1. *reading*: the header is checked (a bad header stops everything before anything is
//!    written), every line parsed, malformed lines reported with their number and
//!    reason, repeated addresses counted, and the kept entries sorted by name — each
//!    entry's id is then `snapshot × ID_SPAN + rank`, so the name-key index lists
//!    entries in name order and a search reads its first 50 straight from the index;
//! 2. *writing*: the file is read again on a blocking thread while the rows are written
//!    (PostgreSQL: `COPY`; SQLite: multi-row inserts in large transactions).

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::io::{BufRead, Read, Seek};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, Set,
};

use super::extraction::{self, Entry, HeaderError};
use super::keys::{Searched, entry_keys};
use crate::entity::{directory_entry, directory_key, directory_snapshot, directory_top};

/// Entries per written batch.
const BATCH: usize = 5_000;
/// Entries kept per prefix in `directory_top` (a page is 50, plus the exact matches that
/// a search sets apart).
pub const TOP: usize = 64;
/// Prefix lengths (in characters) that get a `directory_top` row.
pub const TOP_LENGTHS: std::ops::RangeInclusive<usize> = 3..=8;

/// Entries per SQLite transaction.
const SQLITE_TRANSACTION: u64 = 25_000;
/// Entry ids are `snapshot id × ID_SPAN + rank` (rank in name order).
pub const ID_SPAN: i64 = 100_000_000;
/// A rank for lines that are not imported.
const SKIP: u32 = u32::MAX;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("le fichier est vide")]
    Empty,
    #[error("archive zip illisible : {0}")]
    Zip(String),
    #[error(
        "le fichier a changé pendant l'import (ligne {0}) ; rien n'a été importé — relancez \
         l'import"
    )]
    Changed(u64),
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

/// Where an import stands, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// First pass: lines read and checked.
    Reading { lines: u64 },
    /// Second pass: entries written, out of `total`.
    Writing { written: u64, total: u64 },
}

/// The file to import: a path (`.txt`, or a `.zip` holding one `.txt`, recognised by its
/// content), or bytes in memory.
#[derive(Debug, Clone)]
pub enum ExtractionFile {
    Path(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";

/// Runs `f` on the text of `source`, unzipping the one `.txt` of an archive.
fn read_text<R: Read + Seek, T>(
    mut source: R,
    f: impl FnOnce(&mut dyn BufRead) -> Result<T, ImportError>,
) -> Result<T, ImportError> {
    let mut magic = [0u8; 4];
    let n = source.read(&mut magic)?;
    source.rewind()?;
    if n == 4 && &magic == ZIP_MAGIC {
        let mut archive =
            zip::ZipArchive::new(source).map_err(|e| ImportError::Zip(e.to_string()))?;
        let files: Vec<(usize, String)> = (0..archive.len())
            .filter_map(|i| {
                let name = archive.name_for_index(i)?.to_owned();
                (!name.ends_with('/')).then_some((i, name))
            })
            .collect();
        let texts: Vec<&(usize, String)> = files
            .iter()
            .filter(|(_, name)| name.to_lowercase().ends_with(".txt"))
            .collect();
        let index = match (texts.as_slice(), files.as_slice()) {
            ([(i, _)], _) => *i,
            ([], [(i, _)]) => *i,
            _ => {
                return Err(ImportError::Zip(format!(
                    "l'archive doit contenir un seul fichier .txt (elle contient : {})",
                    files
                        .iter()
                        .map(|(_, n)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        };
        let entry = archive
            .by_index(index)
            .map_err(|e| ImportError::Zip(e.to_string()))?;
        let mut reader = std::io::BufReader::with_capacity(1024 * 1024, entry);
        f(&mut reader)
    } else {
        let mut reader = std::io::BufReader::with_capacity(1024 * 1024, source);
        f(&mut reader)
    }
}

impl ExtractionFile {
    fn read<T>(
        &self,
        f: impl FnOnce(&mut dyn BufRead) -> Result<T, ImportError>,
    ) -> Result<T, ImportError> {
        match self {
            ExtractionFile::Path(path) => read_text(std::fs::File::open(path)?, f),
            ExtractionFile::Bytes(bytes) => read_text(std::io::Cursor::new(bytes.as_slice()), f),
        }
    }
}

/// The order of a directory: name (or organisation), first name, address.
fn sort_key(entry: &Entry) -> Box<str> {
    let name = entry
        .last_name
        .as_deref()
        .or(entry.organisation.as_deref())
        .unwrap_or("");
    format!(
        "{}\u{1}{}\u{1}{}",
        super::keys::normalize(name),
        super::keys::normalize(entry.first_name.as_deref().unwrap_or("")),
        entry.address
    )
    .into_boxed_str()
}

/// What the first pass found: the rank of each line (or [`SKIP`]) and the report.
struct Plan {
    ranks: Vec<u32>,
    report: ImportReport,
}

/// Reads one line into `line` (without its end); false at the end of the file.
fn next_line(reader: &mut dyn BufRead, line: &mut Vec<u8>) -> std::io::Result<bool> {
    line.clear();
    Ok(reader.read_until(b'\n', line)? > 0)
}

/// First pass: checks the header, parses every line, sorts the kept entries by name.
fn plan(reader: &mut dyn BufRead, progress: &dyn Fn(Progress)) -> Result<Plan, ImportError> {
    let mut line = Vec::new();
    if !next_line(reader, &mut line)? {
        return Err(ImportError::Empty);
    }
    extraction::check_header(&String::from_utf8_lossy(&line))?;
    let mut report = ImportReport::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut kept: Vec<(Box<str>, u32)> = Vec::new();
    // Index = line number - 1; the header is line 1.
    let mut ranks: Vec<u32> = vec![SKIP];
    while next_line(reader, &mut line)? {
        ranks.push(SKIP);
        let number = ranks.len() as u64;
        if number.is_multiple_of(50_000) {
            progress(Progress::Reading { lines: number });
        }
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
                kept.push((sort_key(&entry), (number - 1) as u32));
            }
            Err(e) => report.rejected.push((number, e.to_string())),
        }
    }
    progress(Progress::Reading {
        lines: ranks.len() as u64,
    });
    kept.sort_unstable();
    for (rank, (_, index)) in kept.iter().enumerate() {
        ranks[*index as usize] = rank as u32;
    }
    report.imported = kept.len() as u64;
    Ok(Plan { ranks, report })
}

/// A kept entry on its way to the database: id, fields, search keys (computed once, in
/// the reading thread).
type Row = (i64, Entry, Vec<String>);

/// For each short name prefix: how many entries match, and the [`TOP`] smallest ranks.
#[derive(Default)]
struct Tops(HashMap<String, (u64, BinaryHeap<u32>)>);

impl Tops {
    fn add(&mut self, rank: u32, keys: &[String]) {
        let mut prefixes: HashSet<String> = HashSet::new();
        for key in keys {
            if !(key.starts_with("n:") || key.starts_with("p:")) {
                continue;
            }
            let chars: Vec<(usize, char)> = key.char_indices().collect();
            for length in TOP_LENGTHS {
                // "n:" + `length` characters.
                if let Some((end, _)) = chars.get(2 + length) {
                    prefixes.insert(key[..*end].to_owned());
                } else if chars.len() == 2 + length {
                    prefixes.insert(key.to_owned());
                }
            }
        }
        for prefix in prefixes {
            let (total, heap) = self.0.entry(prefix).or_default();
            *total += 1;
            heap.push(rank);
            if heap.len() > TOP {
                heap.pop();
            }
        }
    }

    /// The rows worth keeping: prefixes matched by more than [`TOP`] entries.
    fn rows(self) -> Vec<(String, u64, Vec<u8>)> {
        self.0
            .into_iter()
            .filter(|(_, (total, _))| *total > TOP as u64)
            .map(|(key, (total, heap))| {
                let ranks: Vec<u8> = heap
                    .into_sorted_vec()
                    .into_iter()
                    .flat_map(u32::to_le_bytes)
                    .collect();
                (key, total, ranks)
            })
            .collect()
    }
}

/// Second pass: parses the kept lines again and hands them out in batches; returns the
/// prefix lists for `directory_top`.
fn produce(
    reader: &mut dyn BufRead,
    ranks: &[u32],
    snapshot: i64,
    out: &tokio::sync::mpsc::Sender<Vec<Row>>,
) -> Result<Tops, ImportError> {
    let mut tops = Tops::default();
    let mut line = Vec::new();
    next_line(reader, &mut line)?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut index = 0usize;
    while next_line(reader, &mut line)? {
        index += 1;
        let number = index as u64 + 1;
        let Some(&rank) = ranks.get(index) else {
            return Err(ImportError::Changed(number));
        };
        if rank == SKIP {
            continue;
        }
        let entry = std::str::from_utf8(&line)
            .ok()
            .and_then(|text| extraction::parse_line(text).ok())
            .ok_or(ImportError::Changed(number))?;
        let keys = entry_keys(Searched {
            last_name: entry.last_name.as_deref(),
            first_name: entry.first_name.as_deref(),
            organisation: entry.organisation.as_deref(),
            city: entry.city.as_deref(),
        });
        tops.add(rank, &keys);
        batch.push((snapshot * ID_SPAN + i64::from(rank), entry, keys));
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if out.blocking_send(full).is_err() {
                // The writer stopped: its error is the one to report.
                return Ok(tops);
            }
        }
    }
    if index + 1 != ranks.len() {
        return Err(ImportError::Changed(index as u64 + 2));
    }
    if !batch.is_empty() {
        let _ = out.blocking_send(batch);
    }
    Ok(tops)
}

/// Writes the prefix lists of a snapshot.
async fn write_tops(
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

fn sqlx_err(e: sqlx::Error) -> sea_orm::DbErr {
    sea_orm::DbErr::Custom(format!("SQLite : {e}"))
}

/// SQLite: multi-row inserts (keys in index order), inside the transaction the caller
/// opened on the import's own connection.
async fn write_batch_sqlite(
    conn: &mut sqlx::SqliteConnection,
    snapshot: i64,
    batch: Vec<Row>,
) -> Result<(), sea_orm::DbErr> {
    let mut keys: Vec<(String, i64)> = Vec::new();
    let batch: Vec<(i64, Entry)> = batch
        .into_iter()
        .map(|(id, e, entry_keys)| {
            keys.extend(entry_keys.into_iter().map(|k| (k, id)));
            (id, e)
        })
        .collect();
    keys.sort_unstable();
    let result = async {
        let mut rows = batch.into_iter().peekable();
        while rows.peek().is_some() {
            // 15 columns × 1,000 rows stays under SQLite's 32,766 parameters.
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO directory_entry (id, snapshot_id, kind, address, identifier, \
                 civility, last_name, first_name, profession, speciality, organisation, \
                 address_lines, postal_code, department, city) ",
            );
            q.push_values(rows.by_ref().take(1_000), |mut b, (id, e)| {
                b.push_bind(id)
                    .push_bind(snapshot)
                    .push_bind(e.kind.chars().take(8).collect::<String>())
                    .push_bind(e.address)
                    .push_bind(e.identifier)
                    .push_bind(e.civility)
                    .push_bind(e.last_name)
                    .push_bind(e.first_name)
                    .push_bind(e.profession)
                    .push_bind(e.speciality)
                    .push_bind(e.organisation)
                    .push_bind(e.address_lines)
                    .push_bind(e.postal_code)
                    .push_bind(e.department)
                    .push_bind(e.city);
            });
            q.build().execute(&mut *conn).await?;
        }
        let mut keys = keys.into_iter().peekable();
        while keys.peek().is_some() {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO directory_key (snapshot_id, key, entry_id) ",
            );
            q.push_values(keys.by_ref().take(10_000), |mut b, (key, id)| {
                b.push_bind(snapshot).push_bind(key).push_bind(id);
            });
            q.build().execute(&mut *conn).await?;
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    result.map_err(sqlx_err)
}

/// Runs `sql` (BEGIN IMMEDIATE, COMMIT, ROLLBACK) on the import's SQLite connection.
async fn sqlite_exec(
    conn: &mut sqlx::SqliteConnection,
    sql: &'static str,
) -> Result<(), sea_orm::DbErr> {
    sqlx::query(sql)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(sqlx_err)
}

/// A text-format `COPY` field.
fn copy_field(out: &mut String, value: Option<&str>) {
    match value {
        None => out.push_str("\\N"),
        Some(v) => {
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

fn copy_err(e: sqlx::Error) -> sea_orm::DbErr {
    sea_orm::DbErr::Custom(format!("COPY : {e}"))
}

/// PostgreSQL: two `COPY … FROM STDIN` per batch (entries, then keys).
async fn write_batch_postgres(
    db: &DatabaseConnection,
    snapshot: i64,
    batch: Vec<Row>,
) -> Result<(), sea_orm::DbErr> {
    let mut entries = String::with_capacity(batch.len() * 300);
    let mut keys = String::with_capacity(batch.len() * 100);
    for (id, e, entry_keys) in &batch {
        for key in entry_keys {
            keys.push_str(&format!("{snapshot}\t"));
            copy_field(&mut keys, Some(key));
            keys.push_str(&format!("\t{id}\n"));
        }
        entries.push_str(&format!("{id}\t{snapshot}"));
        let kind: String = e.kind.chars().take(8).collect();
        for value in [
            Some(kind.as_str()),
            Some(e.address.as_str()),
            e.identifier.as_deref(),
            e.civility.as_deref(),
            e.last_name.as_deref(),
            e.first_name.as_deref(),
            e.profession.as_deref(),
            e.speciality.as_deref(),
            e.organisation.as_deref(),
            e.address_lines.as_deref(),
            e.postal_code.as_deref(),
            e.department.as_deref(),
            e.city.as_deref(),
        ] {
            entries.push('\t');
            copy_field(&mut entries, value);
        }
        entries.push('\n');
    }
    let mut conn = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(copy_err)?;
    let mut copy = conn
        .copy_in_raw(
            "COPY directory_entry (id, snapshot_id, kind, address, identifier, civility, \
             last_name, first_name, profession, speciality, organisation, address_lines, \
             postal_code, department, city) FROM STDIN",
        )
        .await
        .map_err(copy_err)?;
    copy.send(entries.as_bytes()).await.map_err(copy_err)?;
    copy.finish().await.map_err(copy_err)?;
    let mut copy = conn
        .copy_in_raw("COPY directory_key (snapshot_id, key, entry_id) FROM STDIN")
        .await
        .map_err(copy_err)?;
    copy.send(keys.as_bytes()).await.map_err(copy_err)?;
    copy.finish().await.map_err(copy_err)?;
    Ok(())
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

async fn fill(
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
