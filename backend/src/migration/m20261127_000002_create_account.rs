//! Medimail accounts, one per Office identity `(tenant_id, object_id)`, created on first
//! sign-in (manual part 4 §2, automatic registration).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Account::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Account::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Account::TenantId).string_len(64).not_null())
                    .col(ColumnDef::new(Account::ObjectId).string_len(64).not_null())
                    .col(ColumnDef::new(Account::DisplayName).string_len(256).null())
                    .col(ColumnDef::new(Account::Mailbox).string_len(320).null())
                    .col(ColumnDef::new(Account::PassphraseHash).text().null())
                    .col(
                        ColumnDef::new(Account::FailedAttempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Account::LockedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Account::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("account_identity")
                    .table(Account::Table)
                    .col(Account::TenantId)
                    .col(Account::ObjectId)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Account::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    TenantId,
    ObjectId,
    DisplayName,
    Mailbox,
    PassphraseHash,
    FailedAttempts,
    LockedUntil,
    CreatedAt,
}
