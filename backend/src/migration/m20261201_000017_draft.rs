//! « Sauvegarder un brouillon » (issue 18; manual part 1 §4.1): one draft per account,
//! sealed at rest (recipients, subject, body and opening conditions; never attachments).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Draft::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Draft::AccountId)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Draft::Sealed).text().not_null())
                    .col(
                        ColumnDef::new(Draft::SavedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Draft::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Draft {
    Table,
    AccountId,
    Sealed,
    SavedAt,
}
