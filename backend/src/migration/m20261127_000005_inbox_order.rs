//! The inbox in order without a sort: each recipient row carries its envelope's sealing
//! time, indexed with the account, so "Messages reçus" reads the newest 50 straight from
//! an index even in a mailbox of 100,000 envelopes (docs/PERFORMANCE.md).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(EnvelopeRecipient::Table)
                    .add_column(
                        ColumnDef::new(EnvelopeRecipient::SealedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Rows written before this migration.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE envelope_recipient SET sealed_at = (SELECT e.sealed_at FROM envelope e \
                 WHERE e.id = envelope_recipient.envelope_id) WHERE sealed_at IS NULL",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("envelope_recipient_inbox")
                    .table(EnvelopeRecipient::Table)
                    .col(EnvelopeRecipient::AccountId)
                    .col(EnvelopeRecipient::SealedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("envelope_recipient_inbox")
                    .table(EnvelopeRecipient::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EnvelopeRecipient::Table)
                    .drop_column(EnvelopeRecipient::SealedAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum EnvelopeRecipient {
    Table,
    SealedAt,
    AccountId,
}
