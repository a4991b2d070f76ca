//! Issue 17, « Délégation automatique » (manual part 1 §6.3): secondary addresses that get
//! a copy of each notification mail, once each has confirmed (the link of a confirmation
//! mail, its token kept hashed).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Delegation::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Delegation::AccountId).string().not_null())
                    .col(ColumnDef::new(Delegation::Address).string().not_null())
                    .col(ColumnDef::new(Delegation::TokenHash).string().not_null())
                    .col(
                        ColumnDef::new(Delegation::RequestedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Delegation::ConfirmedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(Delegation::AccountId)
                            .col(Delegation::Address),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Delegation::Table, Delegation::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("delegation_token")
                    .table(Delegation::Table)
                    .col(Delegation::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Delegation::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Delegation {
    Table,
    AccountId,
    Address,
    TokenHash,
    RequestedAt,
    ConfirmedAt,
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
}
