//! Database connection and migrations.
//!
//! SQLite (embedded default, one file in the data folder, WAL journal) and PostgreSQL
//! run the same migrations and queries.

use std::time::Duration;

use medimail_api::DatabaseKind;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::migration::Migrator;
/// The database could not be opened or migrated; names the URL (password hidden).
#[derive(Debug, thiserror::Error)]
#[error("cannot use the database {url}: {reason}")]
pub struct DbOpenError {
    pub url: String,
    pub reason: String,
}

/// Connects, applies pending migrations and returns the connection pool.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbOpenError> {
    let shown = redact(url);
    let kind = kind_of(url).ok_or_else(|| DbOpenError {
        url: shown.clone(),
        reason: "unsupported database; use sqlite://… or postgres://…".into(),
    })?;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if kind == DatabaseKind::Sqlite {
        // One writer at a time in SQLite; a small pool avoids needless lock contention.
        // `secure_delete`: what a row held before an update or a delete (a title sealed
        // from clear, a purged key) is overwritten with zeros in the file, not left in its
        // free pages for a copy of the file to show.
        options
            .max_connections(8)
            .map_sqlx_sqlite_opts(|o| o.pragma("secure_delete", "ON"));
    }
    let db = Database::connect(options).await.map_err(|e| DbOpenError {
        url: shown.clone(),
        reason: e.to_string(),
    })?;
    if kind == DatabaseKind::Sqlite {
        // WAL lets readers proceed while a writer commits; the setting persists in the file.
        db.execute_unprepared("PRAGMA journal_mode=WAL;")
            .await
            .map_err(|e| DbOpenError {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
    }
    Migrator::up(&db, None).await.map_err(|e| DbOpenError {
        url: shown,
        reason: format!("migrations failed: {e}"),
    })?;
    Ok(db)
}

/// Begins a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), waiting for it if needed: a deferred transaction that reads first
/// would otherwise fail with "database is locked" when another writer commits in between.
/// PostgreSQL ignores the mode.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, sea_orm::DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// The engine behind a connection, as reported by the health check.
pub fn kind(db: &DatabaseConnection) -> DatabaseKind {
    match db.get_database_backend() {
        DbBackend::Postgres => DatabaseKind::Postgres,
        _ => DatabaseKind::Sqlite,
    }
}

fn kind_of(url: &str) -> Option<DatabaseKind> {
    let scheme = url.split_once(':')?.0.to_ascii_lowercase();
    match scheme.as_str() {
        "sqlite" => Some(DatabaseKind::Sqlite),
        "postgres" | "postgresql" => Some(DatabaseKind::Postgres),
        _ => None,
    }
}

/// The URL with its password hidden, fit for a log line or an error message.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "(unparsable database URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_password_of_a_database_url() {
        let shown = redact("postgres://medimail:s3cret@db.example:5432/medimail");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("medimail:****@db.example"), "{shown}");
        assert_eq!(redact("sqlite://./data/x.db"), "sqlite://./data/x.db");
    }

    #[test]
    fn recognises_the_supported_engines() {
        assert_eq!(kind_of("sqlite://x.db"), Some(DatabaseKind::Sqlite));
        assert_eq!(kind_of("postgres://h/db"), Some(DatabaseKind::Postgres));
        assert_eq!(kind_of("postgresql://h/db"), Some(DatabaseKind::Postgres));
        assert_eq!(kind_of("mysql://h/db"), None);
    }

    #[tokio::test]
    async fn creates_and_migrates_a_fresh_sqlite_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = connect_and_migrate(&url).await.expect("migrated");
        assert_eq!(kind(&db), DatabaseKind::Sqlite);
        // Running the migrations again is a no-op.
        drop(db);
        connect_and_migrate(&url).await.expect("second start");
    }
}
