//! Directory speed (docs/PERFORMANCE.md). On SQLite the name-key table becomes `WITHOUT
//! ROWID`, so each key is one insert into one B-tree (its primary key) instead of a row
//! plus an index entry; on PostgreSQL keys compare byte by byte (`COLLATE "C"`), which
//! prefix ranges need whatever the database's collation, and is faster. The index on
//! `directory_entry (snapshot_id)` goes, since `(snapshot_id, postal_code)` serves the
//! same lookups. `directory_top` keeps, for each short name prefix matched by many
//! entries, the first entries in name order, so such a search reads one row.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() == DbBackend::Sqlite {
            // One call: the statements must run on one connection, in this order.
            db.execute_unprepared(
                "CREATE TABLE directory_key_new (snapshot_id integer NOT NULL, key varchar(200) \
                 NOT NULL, entry_id integer NOT NULL, PRIMARY KEY (snapshot_id, key, entry_id)) \
                 WITHOUT ROWID; \
                 INSERT INTO directory_key_new SELECT snapshot_id, key, entry_id FROM directory_key; \
                 DROP TABLE directory_key; \
                 ALTER TABLE directory_key_new RENAME TO directory_key;",
            )
            .await?;
        } else {
            db.execute_unprepared(
                "ALTER TABLE directory_key ALTER COLUMN key TYPE varchar(200) COLLATE \"C\"",
            )
            .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DirectoryTop::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(DirectoryTop::SnapshotId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(DirectoryTop::Key).string_len(200).not_null())
                    .col(ColumnDef::new(DirectoryTop::Total).big_integer().not_null())
                    .col(ColumnDef::new(DirectoryTop::Ranks).binary().not_null())
                    .primary_key(
                        Index::create()
                            .col(DirectoryTop::SnapshotId)
                            .col(DirectoryTop::Key),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("directory_entry_snapshot")
                    .table(DirectoryEntry::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(DirectoryTop::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("directory_entry_snapshot")
                    .table(DirectoryEntry::Table)
                    .col(DirectoryEntry::SnapshotId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum DirectoryEntry {
    Table,
    SnapshotId,
}

#[derive(DeriveIden)]
enum DirectoryTop {
    Table,
    SnapshotId,
    Key,
    Total,
    Ranks,
}
