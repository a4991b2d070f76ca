//! Leases on the blobs of uploads in progress (issue 15, item 8): the orphan sweep
//! deletes blobs no attachment refers to once an hour old, which lost the first file of
//! an upload lasting longer than that. An upload now holds a lease on its blobs, renewed
//! while bytes arrive; the sweep skips leased blobs.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BlobLease::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(BlobLease::BlobId)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(BlobLease::Until)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BlobLease::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum BlobLease {
    Table,
    BlobId,
    Until,
}
