//! Issue 17, « Notification quotidienne des réceptions » (manual part 1 §6.3): one row per
//! account and day a digest was made, written in the transaction that queues it. Its key
//! makes the digest once-only however many instances run the job at the same minute.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DigestSent::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(DigestSent::AccountId).string().not_null())
                    .col(ColumnDef::new(DigestSent::Day).string().not_null())
                    .col(ColumnDef::new(DigestSent::Envelopes).integer().not_null())
                    .col(
                        ColumnDef::new(DigestSent::MadeAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(DigestSent::AccountId)
                            .col(DigestSent::Day),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DigestSent::Table, DigestSent::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DigestSent::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum DigestSent {
    Table,
    AccountId,
    Day,
    Envelopes,
    MadeAt,
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
}
