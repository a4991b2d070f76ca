//! The audit trail's head (`audit_head`): one row, locked by every append, holding the
//! count and the last link under an HMAC (docs/ARCHITECTURE.md "Audit trail"). The row
//! itself is written at start-up (`audit::open_trail`), which needs the master key.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditHead::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AuditHead::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditHead::Count).big_integer().not_null())
                    .col(ColumnDef::new(AuditHead::LastId).big_integer().not_null())
                    .col(
                        ColumnDef::new(AuditHead::LastHash)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditHead::Mac).string_len(64).not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditHead::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AuditHead {
    Table,
    Id,
    Count,
    LastId,
    LastHash,
    Mac,
}
