//! An idempotent "Envoyer" (issue 15, item 8): the `Idempotency-Key` the pane sends
//! with an envelope is kept with it, unique per sender, so that the same send retried
//! after a lost answer returns the envelope already sealed instead of a second one.

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
                        ColumnDef::new(Envelope::IdempotencyKey)
                            .string_len(64)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Several envelopes without a key (NULL) are allowed on both databases.
        manager
            .create_index(
                Index::create()
                    .name("envelope_sender_idempotency")
                    .table(Envelope::Table)
                    .col(Envelope::SenderAccountId)
                    .col(Envelope::IdempotencyKey)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("envelope_sender_idempotency")
                    .table(Envelope::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Envelope::Table)
                    .drop_column(Envelope::IdempotencyKey)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Envelope {
    Table,
    SenderAccountId,
    IdempotencyKey,
}
