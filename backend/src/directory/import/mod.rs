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
//!
//! `reading` holds both passes over the file (it never touches the database); `sqlite`
//! and `postgres` write one batch of rows each their own way; `snapshot` runs the import:
//! a new snapshot, the batches, the switch, the clean-up.

pub mod postgres;
pub mod reading;
pub mod snapshot;
pub mod sqlite;

pub use reading::{ExtractionFile, ID_SPAN, ImportError, ImportReport, Progress, TOP, TOP_LENGTHS};
pub use snapshot::import_extraction;
