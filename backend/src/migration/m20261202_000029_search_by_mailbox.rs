//! Issue 18, a search by one word served by the tags: the sender's mailbox is tagged like
//! the title and the sender's name. `envelope.terms_version` says which tags an envelope
//! has (0: title and name, as written before; 1: with the mailbox). The envelopes from
//! before are tagged by `envelope::at_rest::tag_mailboxes`, run at start in the background;
//! `maintenance` keeps the one-off tasks finished on this database (one row each), so
//! that the search knows when the mailbox's scan is no longer needed.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Envelope::Table)
                    .add_column(
                        ColumnDef::new(Envelope::TermsVersion)
                            .small_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Maintenance::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Maintenance::Task)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Maintenance::DoneAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Maintenance::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Envelope::Table)
                    .drop_column(Envelope::TermsVersion)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Envelope {
    Table,
    TermsVersion,
}

#[derive(DeriveIden)]
enum Maintenance {
    Table,
    Task,
    DoneAt,
}
