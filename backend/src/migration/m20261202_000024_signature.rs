//! Issue 17, « Signature de mail » (manual part 1 §6.5): an account's named signatures,
//! sanitised like message bodies; one may be the default, inserted in every new message.
//! A name is unique per account, compared without case or accents (`name_key`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Signature::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(Signature::Id)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Signature::AccountId).string().not_null())
                    .col(ColumnDef::new(Signature::Name).string().not_null())
                    .col(ColumnDef::new(Signature::NameKey).string().not_null())
                    .col(ColumnDef::new(Signature::BodyHtml).text().not_null())
                    .col(
                        ColumnDef::new(Signature::IsDefault)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Signature::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Signature::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Signature::Table, Signature::AccountId)
                            .to(Account::Table, Account::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("signature_account_name")
                    .table(Signature::Table)
                    .col(Signature::AccountId)
                    .col(Signature::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Signature::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Signature {
    Table,
    Id,
    AccountId,
    Name,
    NameKey,
    BodyHtml,
    IsDefault,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
}
