//! The directory, complete: an account's visibility ("liste rouge") and its
//! MSSanté flag, its normalised name for the Medimail directory, each entry's town, the
//! indexes the webmail's other criteria read (code postal, RPPS/ADELI), and favorites.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(Account::ListeRouge)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Account::MssanteEnabled)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Account::SearchName)
                .string_len(400)
                .null()
                .to_owned(),
        ] {
            // One column per statement: SQLite alters one at a time.
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
                    .name("account_mailbox")
                    .table(Account::Table)
                    .col(Account::Mailbox)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DirectoryEntry::Table)
                    .add_column(ColumnDef::new(DirectoryEntry::City).string_len(200).null())
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("directory_entry_postal_code", DirectoryEntry::PostalCode),
            ("directory_entry_identifier", DirectoryEntry::Identifier),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(DirectoryEntry::Table)
                        .col(DirectoryEntry::SnapshotId)
                        .col(column)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DirectoryFavorite::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(DirectoryFavorite::AccountId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DirectoryFavorite::Annuaire)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DirectoryFavorite::Address)
                            .string_len(320)
                            .not_null(),
                    )
                    .col(ColumnDef::new(DirectoryFavorite::Contact).text().not_null())
                    .col(
                        ColumnDef::new(DirectoryFavorite::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(DirectoryFavorite::AccountId)
                            .col(DirectoryFavorite::Annuaire)
                            .col(DirectoryFavorite::Address),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(DirectoryFavorite::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        for name in ["directory_entry_postal_code", "directory_entry_identifier"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(DirectoryEntry::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(DirectoryEntry::Table)
                    .drop_column(DirectoryEntry::City)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("account_mailbox")
                    .table(Account::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Account::SearchName,
            Account::MssanteEnabled,
            Account::ListeRouge,
        ] {
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
    Mailbox,
    ListeRouge,
    MssanteEnabled,
    SearchName,
}

#[derive(DeriveIden)]
enum DirectoryEntry {
    Table,
    SnapshotId,
    City,
    PostalCode,
    Identifier,
}

#[derive(DeriveIden)]
enum DirectoryFavorite {
    Table,
    AccountId,
    Annuaire,
    Address,
    Contact,
    CreatedAt,
}
