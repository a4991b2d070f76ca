//! Secure envelopes: the envelope (sealed body, wrapped data key, opening window), its
//! recipients, its attachments (blob references) and its events ("Scellement", …).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Envelope::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Envelope::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Envelope::Reference)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Envelope::SenderAccountId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Envelope::SenderMailbox)
                            .string_len(320)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Envelope::SenderName).string_len(256).null())
                    .col(ColumnDef::new(Envelope::Subject).text().not_null())
                    .col(ColumnDef::new(Envelope::BodySealed).text().not_null())
                    .col(ColumnDef::new(Envelope::WrappedKey).text().not_null())
                    .col(ColumnDef::new(Envelope::Engine).string_len(200).not_null())
                    .col(
                        ColumnDef::new(Envelope::SealedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Envelope::OpensFrom)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Envelope::OpensUntil)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Envelope::AttachmentCount)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(Envelope::SenderDeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Envelope::SenderRemovedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Envelope::PurgedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Envelope::Table, Envelope::SenderAccountId)
                            .to(Account::Table, Account::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("envelope_reference")
                    .table(Envelope::Table)
                    .col(Envelope::Reference)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("envelope_sender_sealed")
                    .table(Envelope::Table)
                    .col(Envelope::SenderAccountId)
                    .col(Envelope::SealedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EnvelopeRecipient::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(EnvelopeRecipient::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeRecipient::EnvelopeId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeRecipient::AccountId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeRecipient::Address)
                            .string_len(320)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeRecipient::Kind)
                            .string_len(4)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeRecipient::Position)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(EnvelopeRecipient::OpenedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeRecipient::RemovedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeRecipient::DeletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EnvelopeRecipient::Table, EnvelopeRecipient::EnvelopeId)
                            .to(Envelope::Table, Envelope::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(EnvelopeRecipient::Table, EnvelopeRecipient::AccountId)
                            .to(Account::Table, Account::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("envelope_recipient_account")
                    .table(EnvelopeRecipient::Table)
                    .col(EnvelopeRecipient::AccountId)
                    .col(EnvelopeRecipient::EnvelopeId)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Attachment::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Attachment::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Attachment::EnvelopeId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Attachment::Position).integer().not_null())
                    .col(
                        ColumnDef::new(Attachment::DisplayName)
                            .string_len(1024)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Attachment::SafeName)
                            .string_len(1024)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Attachment::ContentType)
                            .string_len(255)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Attachment::Size).big_integer().not_null())
                    .col(ColumnDef::new(Attachment::BlobId).string_len(64).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Attachment::Table, Attachment::EnvelopeId)
                            .to(Envelope::Table, Envelope::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EnvelopeEvent::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(EnvelopeEvent::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeEvent::EnvelopeId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeEvent::Kind)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeEvent::AccountId)
                            .string_len(36)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeEvent::Actor)
                            .string_len(320)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EnvelopeEvent::OccurredAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(EnvelopeEvent::Detail).text().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(EnvelopeEvent::Table, EnvelopeEvent::EnvelopeId)
                            .to(Envelope::Table, Envelope::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            EnvelopeEvent::Table.into_iden(),
            Attachment::Table.into_iden(),
            EnvelopeRecipient::Table.into_iden(),
            Envelope::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Envelope {
    Table,
    Id,
    Reference,
    SenderAccountId,
    SenderMailbox,
    SenderName,
    Subject,
    BodySealed,
    WrappedKey,
    Engine,
    SealedAt,
    OpensFrom,
    OpensUntil,
    AttachmentCount,
    SenderDeletedAt,
    SenderRemovedAt,
    PurgedAt,
}

#[derive(DeriveIden)]
enum EnvelopeRecipient {
    Table,
    Id,
    EnvelopeId,
    AccountId,
    Address,
    Kind,
    Position,
    OpenedAt,
    DeletedAt,
    RemovedAt,
}

#[derive(DeriveIden)]
enum Attachment {
    Table,
    Id,
    EnvelopeId,
    Position,
    DisplayName,
    SafeName,
    ContentType,
    Size,
    BlobId,
}

#[derive(DeriveIden)]
enum EnvelopeEvent {
    Table,
    Id,
    EnvelopeId,
    Kind,
    AccountId,
    Actor,
    OccurredAt,
    Detail,
}
