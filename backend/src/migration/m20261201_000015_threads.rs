//! Threads (issue 19): an envelope remembers the one it answers, whether the answer came
//! from « Répondre » or from a mail client (its `In-Reply-To`/`References`, or the link
//! of the quoted notification), so that both ends see the conversation.

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
                    .add_column(ColumnDef::new(Envelope::InReplyToId).string_len(36).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("envelope_in_reply_to")
                    .table(Envelope::Table)
                    .col(Envelope::InReplyToId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("envelope_in_reply_to")
                    .table(Envelope::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Envelope::Table)
                    .drop_column(Envelope::InReplyToId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Envelope {
    Table,
    InReplyToId,
}
