//! Issue 17, « MSSanté » › « Activer » (manual part 1 §6.6): the account's MSSanté
//! address (`prenom.nom@MEDIMAIL_MSSANTE_DOMAIN`, a suffix when taken), unique across
//! accounts, and when it was activated. Envelopes addressed to it reach the account.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(Account::MssanteAddress)
                .string()
                .null()
                .to_owned(),
            ColumnDef::new(Account::MssanteActivatedAt)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Account::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("account_mssante_address")
                    .table(Account::Table)
                    .col(Account::MssanteAddress)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("account_mssante_address")
                    .table(Account::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Account::MssanteAddress, Account::MssanteActivatedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Account::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Account {
    Table,
    MssanteAddress,
    MssanteActivatedAt,
}
