//! The two passes over an extraction file, on a blocking thread: the first checks the
//! header, parses every line and ranks the kept entries by name; the second parses the
//! kept lines again and hands them out in batches with their search keys, and gathers the
//! prefix lists of `directory_top`. Nothing here touches the database.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::io::{BufRead, Read, Seek};
use std::path::PathBuf;
use std::sync::Arc;

use crate::directory::extraction::{self, Entry, HeaderError};
use crate::directory::keys::{Searched, entry_keys};

/// Entries per written batch.
pub const BATCH: usize = 5_000;
/// Entries kept per prefix in `directory_top` (a page is 50, plus the exact matches that
/// a search sets apart).
pub const TOP: usize = 64;
/// Prefix lengths (in characters) that get a `directory_top` row.
pub const TOP_LENGTHS: std::ops::RangeInclusive<usize> = 3..=8;

/// Entry ids are `snapshot id × ID_SPAN + rank` (rank in name order).
pub const ID_SPAN: i64 = 100_000_000;
/// A rank for lines that are not imported.
pub const SKIP: u32 = u32::MAX;

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

pub const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";

/// Runs `f` on the text of `source`, unzipping the one `.txt` of an archive.
pub fn read_text<R: Read + Seek, T>(
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
    pub fn read<T>(
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
pub fn sort_key(entry: &Entry) -> Box<str> {
    let name = entry
        .last_name
        .as_deref()
        .or(entry.organisation.as_deref())
        .unwrap_or("");
    format!(
        "{}\u{1}{}\u{1}{}",
        crate::directory::keys::normalize(name),
        crate::directory::keys::normalize(entry.first_name.as_deref().unwrap_or("")),
        entry.address
    )
    .into_boxed_str()
}

/// What the first pass found: the rank of each line (or [`SKIP`]) and the report.
pub struct Plan {
    pub ranks: Vec<u32>,
    pub report: ImportReport,
}

/// Reads one line into `line` (without its end); false at the end of the file.
pub fn next_line(reader: &mut dyn BufRead, line: &mut Vec<u8>) -> std::io::Result<bool> {
    line.clear();
    Ok(reader.read_until(b'\n', line)? > 0)
}

/// First pass: checks the header, parses every line, sorts the kept entries by name.
pub fn plan(reader: &mut dyn BufRead, progress: &dyn Fn(Progress)) -> Result<Plan, ImportError> {
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
pub type Row = (i64, Entry, Vec<String>);

/// For each short name prefix: how many entries match, and the [`TOP`] smallest ranks.
#[derive(Default)]
pub struct Tops(HashMap<String, (u64, BinaryHeap<u32>)>);

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
    pub fn rows(self) -> Vec<(String, u64, Vec<u8>)> {
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
pub fn produce(
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
