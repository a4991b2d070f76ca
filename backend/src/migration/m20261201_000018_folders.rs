//! « Dossiers » (issue 18; manual part 1 §6.2): an account's sub-folders under « Messages
//! reçus », « Messages envoyés » and « Messages supprimés » (3 deep at most, 100 per
//! account), and where each of the account's envelopes is filed: the recipient's row
//! (`envelope_recipient.folder_id`) and the sender's (`envelope.sender_folder_id`) —
//! each participant files for themselves. A folder's name may name a patient: it is
//! sealed at rest, and unique per parent through a keyed tag of its normalised form.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Folder::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Folder::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Folder::AccountId).string_len(36).not_null())
                    .col(ColumnDef::new(Folder::Root).string_len(16).not_null())
                    .col(ColumnDef::new(Folder::ParentId).string_len(36).null())
                    // The parent's id, or the root's name: NULLs are never equal in a
                    // unique index, so the key of uniqueness is never NULL.
                    .col(ColumnDef::new(Folder::ParentKey).string_len(36).not_null())
                    .col(ColumnDef::new(Folder::Depth).small_integer().not_null())
                    .col(ColumnDef::new(Folder::NameSealed).text().not_null())
                    .col(ColumnDef::new(Folder::NameTag).big_integer().not_null())
                    .col(
                        ColumnDef::new(Folder::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("folder_name_per_parent")
                    .table(Folder::Table)
                    .col(Folder::AccountId)
                    .col(Folder::ParentKey)
                    .col(Folder::NameTag)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EnvelopeRecipient::Table)
                    .add_column(
                        ColumnDef::new(EnvelopeRecipient::FolderId)
                            .string_len(36)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Envelope::Table)
                    .add_column(
                        ColumnDef::new(Envelope::SenderFolderId)
                            .string_len(36)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Each folder and sub-folder is read newest first straight from an index, from any
        // position (keyset pagination: `after=` / `before=` of the list): the account, the
        // sub-folder (NULL: the folder itself), then (sealed_at, id).
        manager
            .create_index(
                Index::create()
                    .name("envelope_recipient_folder")
                    .table(EnvelopeRecipient::Table)
                    .col(EnvelopeRecipient::AccountId)
                    .col(EnvelopeRecipient::FolderId)
                    .col(EnvelopeRecipient::SealedAt)
                    .col(EnvelopeRecipient::EnvelopeId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("envelope_sender_folder")
                    .table(Envelope::Table)
                    .col(Envelope::SenderAccountId)
                    .col(Envelope::SenderFolderId)
                    .col(Envelope::SealedAt)
                    .col(Envelope::Id)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("envelope_sender_folder")
                    .table(Envelope::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("envelope_recipient_folder")
                    .table(EnvelopeRecipient::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Envelope::Table)
                    .drop_column(Envelope::SenderFolderId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(EnvelopeRecipient::Table)
                    .drop_column(EnvelopeRecipient::FolderId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Folder::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Folder {
    Table,
    Id,
    AccountId,
    Root,
    ParentId,
    ParentKey,
    Depth,
    NameSealed,
    NameTag,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EnvelopeRecipient {
    Table,
    AccountId,
    FolderId,
    SealedAt,
    EnvelopeId,
}

#[derive(DeriveIden)]
enum Envelope {
    Table,
    Id,
    SenderAccountId,
    SenderFolderId,
    SealedAt,
}
