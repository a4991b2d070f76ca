//! Pro Santé Connect (issue 20): the account's national identifier (RPPS or ADELI, filled
//! from the card when empty), how each session was opened (`otp`: code and passphrase;
//! `psc`: the CPx card), and the used sign-in grants (each is good once).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for column in [
            ColumnDef::new(Account::Rpps)
                .string_len(11)
                .null()
                .to_owned(),
            ColumnDef::new(Account::Adeli)
                .string_len(9)
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
            .alter_table(
                Table::alter()
                    .table(AuthSession::Table)
                    .add_column(
                        ColumnDef::new(AuthSession::Method)
                            .string_len(8)
                            .not_null()
                            .default("otp"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PscGrant::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(PscGrant::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(PscGrant::UsedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PscGrant::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuthSession::Table)
                    .drop_column(AuthSession::Method)
                    .to_owned(),
            )
            .await?;
        for column in [Account::Rpps, Account::Adeli] {
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
    Rpps,
    Adeli,
}

#[derive(DeriveIden)]
enum AuthSession {
    Table,
    Method,
}

#[derive(DeriveIden)]
enum PscGrant {
    Table,
    Id,
    UsedAt,
}
