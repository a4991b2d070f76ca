//! Health data sealed at rest (issue 15, item 5): the title, the sender's name and each
//! attachment's name and type get sealed columns (under the envelope's own key); the
//! clear columns they replace stay, blank, for the rows written before (the server
//! seals those at start, `envelope::at_rest::seal_legacy`). Searching by title or sender
//! goes through `envelope_term`: keyed, non-reversible tags of the 3-character sequences
//! of what is searched (docs/ARCHITECTURE.md says what they leak).

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
                    .add_column(ColumnDef::new(Envelope::SubjectSealed).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Envelope::Table)
                    .add_column(ColumnDef::new(Envelope::SenderNameSealed).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Attachment::Table)
                    .add_column(ColumnDef::new(Attachment::MetaSealed).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EnvelopeTerm::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(EnvelopeTerm::Term).big_integer().not_null())
                    .col(
                        ColumnDef::new(EnvelopeTerm::EnvelopeId)
                            .string_len(36)
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(EnvelopeTerm::Term)
                            .col(EnvelopeTerm::EnvelopeId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_envelope_term_envelope")
                    .table(EnvelopeTerm::Table)
                    .col(EnvelopeTerm::EnvelopeId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EnvelopeTerm::Table).to_owned())
            .await?;
        for (table, column) in [
            (
                Envelope::Table.into_iden(),
                Envelope::SubjectSealed.into_iden(),
            ),
            (
                Envelope::Table.into_iden(),
                Envelope::SenderNameSealed.into_iden(),
            ),
            (
                Attachment::Table.into_iden(),
                Attachment::MetaSealed.into_iden(),
            ),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Envelope {
    Table,
    SubjectSealed,
    SenderNameSealed,
}

#[derive(DeriveIden)]
enum Attachment {
    Table,
    MetaSealed,
}

#[derive(DeriveIden)]
enum EnvelopeTerm {
    Table,
    Term,
    EnvelopeId,
}
